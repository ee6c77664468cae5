// The measuring loop of a forked client process: `concurrency` calls in
// flight, a warm-up whose errors are forgotten, {measuring} sent when the
// measured window opens, then {result} with what the client saw and its own
// CPU time and socket bytes over the window, and the process exits.
import { closedLoop, ms } from "../load.js";
import { ioBytes } from "../proc.js";

export interface LoopSpec {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** What a client saw of its calls over the measured window. */
export interface CallFigures {
  readonly ok: number;
  readonly errors: number;
  /** Each kind of error counted in `errors`, by its message. */
  readonly errorsByMessage: Readonly<Record<string, number>>;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** What a client process reports. */
export interface ClientResult extends CallFigures {
  /** The client process's user+system CPU time over the window. */
  readonly clientCpuSeconds: number;
  /** Bytes this process read and wrote over the window (/proc/self/io): its calls on the wire, once warm. */
  readonly ioBytes: number;
}

export async function runClientLoop(spec: LoopSpec, call: () => Promise<unknown>): Promise<void> {
  let errorsByMessage: Record<string, number> = {};
  const once = () =>
    call().then(
      () => true,
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        errorsByMessage[message] = (errorsByMessage[message] ?? 0) + 1;
        return false;
      },
    );
  await closedLoop(spec.concurrency, spec.warmupMs, once);
  errorsByMessage = {};
  process.send?.({ measuring: true });
  const cpu = process.cpuUsage();
  const io = ioBytes(process.pid);
  const load = await closedLoop(spec.concurrency, spec.durationMs, once);
  const used = process.cpuUsage(cpu);
  const result: ClientResult = {
    ok: load.latency.count,
    errors: Object.values(errorsByMessage).reduce((sum, n) => sum + n, 0),
    errorsByMessage,
    seconds: load.seconds,
    p50Ms: ms(load.latency, 50),
    p99Ms: ms(load.latency, 99),
    clientCpuSeconds: (used.user + used.system) / 1e6,
    ioBytes: ioBytes(process.pid) - io,
  };
  // An open connection would keep the process alive: exit once the result is out.
  process.send?.({ result }, () => process.exit(0));
}
