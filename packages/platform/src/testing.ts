// Helpers for integration tests against the real PostgreSQL and real service
// processes. Not used by any service at run time.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";

export { type ServiceName, startTradingStack, type TradingStack, type TradingStackOptions } from "./trading-stack.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const TOOLS_BIN = `${REPO_ROOT}.tools/bin`;

/** The maintenance database of the project's PostgreSQL (see deploy/local). */
export const TEST_PG_ADMIN_URL = process.env["KUKU_TEST_PG_URL"] ?? "postgres://kuku:kuku@127.0.0.1:55432/postgres";

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database per test file, so test files can run in parallel. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `kuku_test_${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Thrown by a check of `eventually` when waiting longer is pointless (a process died). */
export class GiveUp extends Error {
  override name = "GiveUp";
}

/**
 * Polls `check` until it says true. A throw counts as "not yet" (a server
 * still starting refuses), except GiveUp; after `timeoutMs` it fails,
 * naming `what` and quoting the last error.
 */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting until ${what} (${timeoutMs} ms)${last === undefined ? "" : `; last error: ${String(last)}`}`);
    await sleep(50);
  }
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logs: string[];
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a built service (node dist/main.js) and resolves once it logs that
 * it is serving, with the port it bound (pass port 0 in its env).
 */
export async function startServiceProcess(options: {
  cwd: string;
  env: Record<string, string>;
  startTimeoutMs?: number;
  /** Also append everything it writes to this file: its logs outlive it (a drill's evidence). */
  logFile?: string;
  /** Extra node flags, e.g. --cpu-prof (not allowed in NODE_OPTIONS). */
  nodeArgs?: readonly string[];
}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), "dist/main.js"], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  if (options.logFile !== undefined) {
    const file = createWriteStream(options.logFile, { flags: "a" });
    child.stdout!.pipe(file);
    child.stderr!.pipe(file);
  }
  child.stderr!.on("data", (chunk: Buffer) => logs.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service in ${options.cwd} did not start:\n${logs.join("")}`)),
      options.startTimeoutMs ?? 20_000,
    );
    void exited.then((code) => reject(new Error(`service exited with ${code} before serving:\n${logs.join("")}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      logs.push(line);
      try {
        const record = JSON.parse(line) as { msg?: string; port?: number };
        if (record.msg === "serving" && typeof record.port === "number") {
          clearTimeout(timer);
          resolve(record.port);
        }
      } catch {
        // not a log record; kept in logs
      }
    });
  });
  return {
    child,
    port,
    logs,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a command line tool and collects its output; never throws on exit code. */
export function run(
  command: string,
  args: readonly string[],
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?|NaN|[+-]Inf)(?: -?\d+)?$/i;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;

/**
 * Parses Prometheus' text exposition format (0.0.4) strictly: a line that
 * is neither a comment nor a well-formed sample throws, naming the line.
 */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const [index, line] of text.split("\n").entries()) {
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) throw new Error(`line ${index + 1} is not a Prometheus sample: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = match[2] ?? "";
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body);
      if (label === null) throw new Error(`line ${index + 1} has malformed labels: ${JSON.stringify(line)}`);
      labels[label[1]!] = label[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    const raw = match[3]!;
    samples.push({ name: match[1]!, labels, value: /^[+-]?Inf$/i.test(raw) ? (raw.startsWith("-") ? -Infinity : Infinity) : Number(raw) });
  }
  return samples;
}
