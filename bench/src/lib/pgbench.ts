// pgbench's simple-update workload (-N) on the same PostgreSQL server: the
// ceiling a ledger transfer is compared with (one short write transaction).
import { readdirSync } from "node:fs";
import { createTestDatabase, run } from "@kuku/testkit";

function pgbenchPath(): string {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error("PostgreSQL is not installed (run make infra)");
  return `/usr/lib/postgresql/${versions[0]}/bin/pgbench`;
}

export async function pgbenchSimpleUpdateTps(options: { clients: number; durationS: number }): Promise<number> {
  const database = await createTestDatabase("pgbench");
  try {
    const pgbench = pgbenchPath();
    const init = await run(pgbench, ["-i", "-q", "-s", "10", database.url]);
    if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    const threads = String(Math.min(options.clients, 4));
    const result = await run(pgbench, ["-N", "-c", String(options.clients), "-j", threads, "-T", String(options.durationS), database.url]);
    if (result.code !== 0) throw new Error(`pgbench failed: ${result.stderr}`);
    const match = /tps = ([\d.]+)/.exec(result.stdout);
    if (match === null) throw new Error(`pgbench printed no tps:\n${result.stdout}`);
    return Number(match[1]);
  } finally {
    await database.drop();
  }
}
