// kuku-bench runtime gc: what V8's young generation size does to the
// matching engine (week 15). The engine's KRX order flow, in a process of its
// own per --max-semi-space-size, its last run's rate, per-order latency and
// GC pauses. The market service's fan-out under a setting is
// `kuku-bench market fanout --semi-space-mb N`.
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { command, int, text } from "../lib/command.js";
import { disconnectAndWait, forkTs, message } from "../lib/rpc/fork.js";
import { GC_HEADERS, type GcPause, gcCells, gcSummary, parseSemiSpace, semiSpaceFlags } from "../lib/runtime/gc.js";
import { table } from "../lib/stats.js";

const WORKER = fileURLToPath(new URL("../lib/runtime/matching-worker.ts", import.meta.url));

interface WorkerResult {
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
  readonly pauses: GcPause[];
  readonly newSpaceBytes: number;
}

export const runtimeGc = command({
  name: "runtime gc",
  summary: "V8 --max-semi-space-size vs GC pauses, rate and p99 of the matching engine (week 15)",
  options: {
    "semi-space-mb": text("young generation sizes, comma-separated: default (V8's own) or MiB", "default,1,4,16,64"),
    orders: int("orders submitted per run", 500000),
    runs: int("runs per setting; the last is measured, the ones before warm the JIT up", 3),
    seed: int("order flow seed", 1, 0),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const rows: (string | number)[][] = [];
    const sizes = values["semi-space-mb"].split(",").map((item) => parseSemiSpace(item, "semi-space-mb"));
    for (const mb of sizes) {
      const child = forkTs(
        WORKER,
        { orders: values.orders, runs: values.runs, seed: values.seed },
        { execArgv: ["--expose-gc", ...semiSpaceFlags(mb)] },
      );
      const result = await message<WorkerResult>(child, "result");
      await disconnectAndWait(child).catch(() => undefined);
      const gc = gcSummary(result.pauses, result.seconds);
      rows.push([
        mb === "default" ? "default" : `${mb} MiB`,
        result.perSecond,
        result.p50Micros.toFixed(2),
        result.p99Micros.toFixed(2),
        ...gcCells(gc),
        loadavg()[0]!.toFixed(2),
      ]);
      console.error(`  semi-space ${mb}: ${result.perSecond} orders/s`);
    }
    console.log(
      `runtime gc — exchange matching, krx flow, ${values.orders} orders per run, run ${values.runs} of ${values.runs} measured; Node ${process.version}`,
    );
    console.log(table(["semi-space", "orders/s", "p50 µs", "p99 µs", ...GC_HEADERS, "load 1m"], rows));
    console.log(
      `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), 1-min load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end; ` +
        "GC: every pause of the measured run (PerformanceObserver 'gc'); per-order latency is sampled every 64th order, so a pause shows in p99 only when it lands on one",
    );
  },
});
