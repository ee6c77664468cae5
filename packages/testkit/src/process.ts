// Built services and command line tools as child processes.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { basename } from "node:path";
import { createInterface } from "node:readline";
// The narrow module, not the barrel: a test of the platform's own sources must not load a second copy of
// its metrics (prom-client's registry is per process).
import { generateIdentityKeys, identityFrom, mintToken, OPERATOR, type ServiceIdentity, setDefaultIdentity } from "@kuku/platform/identity";
import { REPO_ROOT } from "./paths.js";
import { envName, infraVariables, SERVICES, type ServiceName } from "./services.js";

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Its admin listener (/metrics, /healthz, /readyz); undefined for a process that serves none. */
  readonly adminPort: number | undefined;
  readonly logs: string[];
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Identity keys generated once per test process for every service and the
 * operator. The services a test starts get their own key and the trust list;
 * the test process itself calls as the operator (the identity of tools), so
 * every service client it makes presents the operator's token.
 */
const IDENTITY_KEYS = generateIdentityKeys([...SERVICES.map((s) => s.name), OPERATOR]);
export const TEST_IDENTITY_TRUST = IDENTITY_KEYS.trust;
export const testIdentity = (name: ServiceName | typeof OPERATOR): ServiceIdentity =>
  identityFrom(name, IDENTITY_KEYS.keys[name]!, IDENTITY_KEYS.trust);
setDefaultIdentity(testIdentity(OPERATOR));
/** The operator's `authorization` header value for raw calls (grpcurl -H, fetch) to a service, e.g. "kuku.ledger.v1.LedgerService". */
export const operatorAuthorization = async (serviceTypeName: string): Promise<string> =>
  `Bearer ${await mintToken(testIdentity(OPERATOR), serviceTypeName)}`;

/** What a service process of the list needs to prove who it is and check its callers. */
function identityEnv(cwd: string): Record<string, string> {
  const spec = SERVICES.find((s) => s.name === basename(cwd));
  if (spec === undefined) return {};
  return { [`${spec.envPrefix}_IDENTITY_KEY`]: IDENTITY_KEYS.keys[spec.name]!, KUKU_IDENTITY_TRUST: IDENTITY_KEYS.trust };
}

// Processes that share the machine (tests in parallel, `make up`) never share
// an admin port: each binds any free one unless its env names one.
const ADMIN_PORTS_ANY = Object.fromEntries(SERVICES.map((s) => [`${s.envPrefix}_ADMIN_PORT`, "0"]));

/**
 * Starts a built service (node dist/main.js) and resolves once it logs that
 * it is serving, with the ports it bound (pass port 0 in its env).
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
    env: { ...process.env, ...ADMIN_PORTS_ANY, ...identityEnv(options.cwd), ...options.env },
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
  const { port, adminPort } = await new Promise<{ port: number; adminPort: number | undefined }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service in ${options.cwd} did not start:\n${logs.join("")}`)),
      options.startTimeoutMs ?? 20_000,
    );
    void exited.then((code) => reject(new Error(`service exited with ${code} before serving:\n${logs.join("")}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      logs.push(line);
      try {
        const record = JSON.parse(line) as { msg?: string; port?: number; adminPort?: number };
        if (record.msg === "serving" && typeof record.port === "number") {
          clearTimeout(timer);
          resolve({ port: record.port, adminPort: record.adminPort });
        }
      } catch {
        // not a log record; kept in logs
      }
    });
  });
  return {
    child,
    port,
    adminPort,
    logs,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Starts a service that must refuse to start (a bad configuration): resolves
 * with what it printed once it exited non-zero; rejects if it serves.
 */
export async function startRefused(name: ServiceName, env: Record<string, string>): Promise<string> {
  let started: ServiceProcess;
  try {
    started = await startService(name, { env });
  } catch (error) {
    const message = String((error as Error).message);
    if (/^service exited with [1-9]\d* before serving/.test(message)) return message;
    throw error;
  }
  await started.stop();
  throw new Error(`${name} started with ${JSON.stringify(env)}`);
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
    // A tool that exits without reading its input (openssl, most of them) closes the pipe first: not an error.
    child.stdin.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") reject(error);
    });
    child.stdin.end(input ?? "");
  });
}

/**
 * Secrets generated once per test process, never the development defaults:
 * a service restarted in the same test keeps accepting the tokens it issued.
 * A test that signs its own tokens passes its secret in `env`.
 */
const MARKET_WS_TOKEN_SECRET = randomBytes(32).toString("base64url");
export const TEST_SECRETS: Readonly<Record<string, string>> = {
  GATEWAY_JWT_SECRET: randomBytes(32).toString("base64url"),
  MARKET_WS_TOKEN_SECRET,
  // The gateway mints the market's WebSocket tokens: the same key.
  GATEWAY_MARKET_TOKEN_SECRET: MARKET_WS_TOKEN_SECRET,
};

/**
 * One built service of the list (services/<name>/dist/main.js) on `port`
 * (default: any free one) and `database`, with `env` over those.
 */
export function startService(
  name: ServiceName,
  options: { port?: number; database?: string } & Omit<Parameters<typeof startServiceProcess>[0], "cwd">,
): Promise<ServiceProcess> {
  const { port = 0, database, env, ...rest } = options;
  const databaseVariable = infraVariables(name).postgres;
  return startServiceProcess({
    ...rest,
    cwd: `${REPO_ROOT}services/${name}`,
    env: {
      [envName(name, "PORT")]: String(port),
      ...TEST_SECRETS,
      ...(database === undefined || databaseVariable === undefined ? {} : { [databaseVariable]: database }),
      ...env,
    },
  });
}
