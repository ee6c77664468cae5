// The benchmark's own processes (servers and clients of `kuku-bench rpc` and
// `kuku-bench rpc-formats`): TypeScript forked through tsx with an IPC
// channel, so that each one's CPU time is its own and figures come back as
// messages.
import { type ChildProcess, fork } from "node:child_process";

export function forkTs(
  script: string,
  spec: object,
  options: { profileDir?: string | undefined; execArgv?: readonly string[] } = {},
): ChildProcess {
  const profile = options.profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`];
  return fork(script, [JSON.stringify(spec)], {
    execArgv: [...(options.execArgv ?? []), "--import", "tsx", ...profile],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

/** The next IPC message carrying `key`; rejects if the process exits first. */
export function message<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      child.off("exit", onExit);
      child.off("message", onMessage);
      resolve(m[key] as T);
    };
    const onExit = (code: number | null) => reject(new Error(`${child.spawnfile} exited with ${code} before sending ${key}`));
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/** Stops a forked server: disconnecting lets it exit normally, so that --cpu-prof writes its profile. */
export async function disconnectAndWait(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.disconnect();
  await exited;
}
