// kuku-bench soak (week 8): the read scenarios through the gateway at a
// constant rate for a bounded time, window by window: each window's p99 per
// scenario (ghz's report of that window) and every service process's RSS at
// its end, so latency drift and memory growth show as trends, not averages.
import { cpus, loadavg } from "node:os";
import type { ServiceName } from "@kuku/testkit";
import { command, duration, int } from "../lib/command.js";
import { rssBytes } from "../lib/proc.js";
import { ghzConstant, READ_SCENARIO_NAMES, startReadStack } from "../lib/read-load.js";
import { table } from "../lib/stats.js";
import type { GhzReport } from "./surge.js";

const SERVICES: readonly ServiceName[] = ["ledger", "exchange", "order", "market", "gateway"];
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
const p99Ms = (r: GhzReport) => {
  const ns = r.latencyDistribution?.find((d) => d.percentage === 99)?.latency;
  return ns === undefined ? "-" : (ns / 1e6).toFixed(1);
};
const errors = (r: GhzReport) => r.count - (r.statusCodeDistribution?.["OK"] ?? 0);

export const soak = command({
  name: "soak",
  summary: "bounded soak: the read scenarios through the gateway at a constant rate; RSS per service and p99 per window",
  options: {
    duration: duration("total time (bounded)", "30m"),
    window: duration("one row per window: its p99 per scenario, every service's RSS at its end", "1m"),
    rate: int("arrival rate per scenario, calls/s (all scenarios at once)", 100),
    users: int("users signed up and funded through the gateway", 50),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const readStack = await startReadStack(values.users);
    try {
      const rss = () => SERVICES.map((s) => mib(rssBytes(readStack.stack.process(s).child.pid!)));
      const rows: (string | number)[][] = [["start", ...READ_SCENARIO_NAMES.map(() => "-"), 0, 0, ...rss(), loadavg()[0]!.toFixed(1)]];
      const started = Date.now();
      for (let window = 1; Date.now() - started < values.duration; window++) {
        const ms = Math.min(values.window, values.duration - (Date.now() - started));
        // The scenarios at once, as a mixed read load: one ghz per scenario over the same window.
        const reports = await Promise.all(READ_SCENARIO_NAMES.map((s) => ghzConstant(readStack, s, values.rate, ms)));
        const calls = reports.reduce((sum, r) => sum + r.count, 0);
        const failed = reports.reduce((sum, r) => sum + errors(r), 0);
        rows.push([window, ...reports.map(p99Ms), calls, failed, ...rss(), loadavg()[0]!.toFixed(1)]);
        console.error(`  window ${window}: ${calls} calls, p99 ${reports.map(p99Ms).join(" / ")} ms`);
      }
      console.log(
        `soak — ${READ_SCENARIO_NAMES.join(", ")} through the gateway at ${values.rate} calls/s each (ghz open loop), ${values.duration / 1000} s in windows of ${values.window / 1000} s`,
      );
      const headers = [
        "window",
        ...READ_SCENARIO_NAMES.map((s) => `${s} p99 ms`),
        "calls",
        "errors",
        ...SERVICES.map((s) => `${s} RSS MiB`),
        "load 1m",
      ];
      console.log(table(headers, rows));
      const [first, last] = [rows[1], rows[rows.length - 1]];
      if (first !== undefined && last !== undefined && rows.length > 2) {
        const rssAt = (row: (string | number)[], i: number) => Number(row[3 + READ_SCENARIO_NAMES.length + i]);
        console.log(
          `RSS from the first window to the last: ${SERVICES.map((s, i) => `${s} ${rssAt(first, i)} -> ${rssAt(last, i)} MiB`).join(", ")}`,
        );
      }
      console.log(
        `machine: ${cpus().length} cores, 1-min load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other work shares the cores)`,
      );
    } finally {
      await readStack.stop();
    }
  },
});
