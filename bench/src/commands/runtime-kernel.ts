// kuku-bench runtime kernel: the kernel parameters that bound the services
// here (week 15), read from /proc, and the one whose effect can be measured
// without changing the machine for everyone on it: the accept queue. A
// listening socket's queue is min(listen backlog, net.core.somaxconn); a
// burst of connections beyond it has SYNs dropped and retried after a second.
// The burst runs against node:http servers listening with each backlog, so a
// smaller somaxconn is seen through a smaller backlog.
import { readFileSync } from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { cpus, loadavg } from "node:os";
import { command, intList } from "../lib/command.js";
import { Histogram, microsSince, table } from "../lib/stats.js";

const sysctl = (path: string) => readFileSync(`/proc/sys/${path}`, "utf8").trim().replace(/\s+/g, "–");

function openFilesLimit(): string {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"))!;
  const [soft, hard] = line.replace("Max open files", "").trim().split(/\s+/);
  return `${soft} soft / ${hard} hard`;
}

/** What each parameter bounds in this system, beside its value. */
function parameters(): (string | number)[][] {
  return [
    ["net.core.somaxconn", sysctl("net/core/somaxconn"), "caps every listen backlog (Node asks for 511): the burst below"],
    ["net.ipv4.tcp_max_syn_backlog", sysctl("net/ipv4/tcp_max_syn_backlog"), "half-open connections per listener"],
    ["net.ipv4.tcp_syncookies", sysctl("net/ipv4/tcp_syncookies"), "1: a full SYN queue answers with cookies"],
    ["net.ipv4.tcp_abort_on_overflow", sysctl("net/ipv4/tcp_abort_on_overflow"), "0: a full accept queue drops, the client retries in 1 s"],
    [
      "net.ipv4.ip_local_port_range",
      sysctl("net/ipv4/ip_local_port_range"),
      "ephemeral ports per destination: outgoing connections to one service",
    ],
    ["net.ipv4.tcp_fin_timeout", sysctl("net/ipv4/tcp_fin_timeout"), "seconds in FIN-WAIT-2"],
    ["net.ipv4.tcp_tw_reuse", sysctl("net/ipv4/tcp_tw_reuse"), "2: TIME-WAIT ports reused for loopback only"],
    ["RLIMIT_NOFILE (this process)", openFilesLimit(), "sockets + files per process: WebSocket clients of one market process"],
    ["fs.file-max", sysctl("fs/file-max"), "open files, machine-wide"],
    ["fs.nr_open", sysctl("fs/nr_open"), "the highest RLIMIT_NOFILE a process may be given"],
  ];
}

/** `connections` opened at once against a server listening with `backlog`: connect-time percentiles, retried SYNs, failures. */
async function burst(backlog: number, connections: number): Promise<(string | number)[]> {
  const server = http.createServer((_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog }, resolve));
  const { port } = server.address() as AddressInfo;
  const latency = new Histogram();
  let failed = 0;
  // A connection whose first SYN was dropped connects only after the retry, a second later.
  let retried = 0;
  const sockets: net.Socket[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve) => {
          const t0 = process.hrtime.bigint();
          const socket = net.connect({ port, host: "127.0.0.1" });
          sockets.push(socket);
          socket.once("connect", () => {
            const micros = microsSince(t0);
            latency.record(micros);
            if (micros > 900_000) retried++;
            resolve();
          });
          socket.once("error", () => {
            failed++;
            resolve();
          });
        }),
    ),
  );
  const seconds = microsSince(started) / 1e6;
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  return [
    backlog,
    connections,
    (latency.percentile(50) / 1000).toFixed(2),
    (latency.percentile(99) / 1000).toFixed(2),
    (latency.percentile(100) / 1000).toFixed(0),
    retried,
    failed,
    seconds.toFixed(2),
  ];
}

export const runtimeKernel = command({
  name: "runtime kernel",
  summary: "the kernel parameters that bound the services (somaxconn, port range, nofile), and a connection burst per accept queue",
  options: {
    backlog: intList("listen backlogs to burst against (the queue is min(backlog, somaxconn))", "16,128,511,4096"),
    connections: intList("connections opened at once per burst", "1000"),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    console.log(
      "runtime kernel — the parameters, as this machine has them (read from /proc; not changed here: the network namespace is shared)",
    );
    console.log(table(["parameter", "value", "what it bounds here"], parameters()));
    const rows: (string | number)[][] = [];
    for (const connections of values.connections) for (const backlog of values.backlog) rows.push(await burst(backlog, connections));
    console.log(`\nconnection burst — client and node:http server in one process, loopback; Node ${process.version}`);
    console.log(
      table(["backlog", "connections", "connect p50 ms", "connect p99 ms", "max ms", "SYN retried (> 0.9 s)", "failed", "burst s"], rows),
    );
    console.log(
      `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), 1-min load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end`,
    );
  },
});
