// A PostgreSQL cluster of the drill's own (temp directory, free port), so
// that the chaos drill may crash and restart it: never the shared one the
// other tests use. Crash = `pg_ctl stop -m immediate` (no checkpoint, WAL
// replay on the next start), as a power cut or kill -9 of the postmaster.
import { spawn } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./toxiproxy.js";

function pgBin(): string {
  const root = "/usr/lib/postgresql";
  const version = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (version === undefined) throw new Error("PostgreSQL binaries not found under /usr/lib/postgresql (make infra installs them)");
  return join(root, version, "bin");
}

// PostgreSQL refuses to run as root: as root, run its tools as the postgres user.
const asRoot = userInfo().uid === 0;
function pgTool(tool: string, args: readonly string[]): Promise<void> {
  const [command, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(pgBin(), tool), ...args]] : [join(pgBin(), tool), [...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${tool} ${args.join(" ")} exited ${code}: ${stderr}`))));
  });
}

export class PrivatePostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), "kuku-drill-pg-"));
    chmodSync(dir, 0o755);
    if (asRoot) chownSync(dir, Number(await idOf("-u")), Number(await idOf("-g")));
    const port = await freePort();
    const cluster = new PrivatePostgres(dir, port);
    // Trust on loopback: a throw-away cluster that only this process's services reach.
    await pgTool("initdb", ["-D", `${dir}/data`, "-U", "kuku", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]);
    appendFileSync(
      `${dir}/data/postgresql.conf`,
      `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\nmax_connections = 200\nfsync = on\n`,
    );
    await cluster.#start();
    return cluster;
  }

  url(database: string): string {
    return `postgres://kuku@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(name: string): Promise<string> {
    const admin = new pg.Client({ connectionString: this.url("postgres") });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return this.url(name);
  }

  /** Crashes the cluster, leaves it down for `downMs`, starts it again (crash recovery from the WAL). */
  async crashAndRestart(downMs: number): Promise<void> {
    await pgTool("pg_ctl", ["-D", `${this.dir}/data`, "-m", "immediate", "-w", "stop"]);
    await new Promise((r) => setTimeout(r, downMs));
    await this.#start();
  }

  async stop(): Promise<void> {
    await pgTool("pg_ctl", ["-D", `${this.dir}/data`, "-m", "fast", "-w", "stop"]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #start(): Promise<void> {
    await pgTool("pg_ctl", ["-D", `${this.dir}/data`, "-l", `${this.dir}/postgres.log`, "-w", "-t", "60", "start"]);
  }
}

function idOf(flag: "-u" | "-g"): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("id", [flag, "postgres"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.once("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error("no postgres user"))));
  });
}
