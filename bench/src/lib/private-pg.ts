// A throwaway PostgreSQL cluster for an experiment that needs a server setting
// the shared one lacks and only a restart changes (max_prepared_transactions
// for kuku-bench orders 2pc): initdb in a temporary directory, a free port,
// stopped and deleted afterwards. The shared server is never touched.
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PrivatePostgres {
  readonly adminUrl: string;
  stop(): void;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });

export async function startPrivatePostgres(settings: Readonly<Record<string, string>>): Promise<PrivatePostgres> {
  const version = readdirSync("/usr/lib/postgresql")
    .sort((a, b) => Number(a) - Number(b))
    .at(-1);
  if (version === undefined) throw new Error("no PostgreSQL under /usr/lib/postgresql");
  const bin = `/usr/lib/postgresql/${version}/bin`;
  const dir = mkdtempSync(join(tmpdir(), "kuku-pg-"));
  const data = join(dir, "data");
  // initdb refuses to run as root: run it (and the server) as postgres, as deploy/local does.
  const asPg = (command: string, args: string[]) =>
    process.getuid?.() === 0
      ? execFileSync("runuser", ["-u", "postgres", "--", `${bin}/${command}`, ...args], { stdio: "pipe" })
      : execFileSync(`${bin}/${command}`, args, { stdio: "pipe" });
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres:postgres", dir]);
  const port = await freePort();
  asPg("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]);
  const lines = { listen_addresses: "'127.0.0.1'", port: String(port), unix_socket_directories: `'${dir}'`, ...settings };
  appendFileSync(
    join(data, "postgresql.conf"),
    Object.entries(lines)
      .map(([k, v]) => `${k} = ${v}\n`)
      .join(""),
  );
  asPg("pg_ctl", ["-D", data, "-l", join(dir, "postgres.log"), "-w", "-t", "60", "start"]);
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      asPg("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
