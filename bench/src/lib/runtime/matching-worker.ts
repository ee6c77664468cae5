// One setting of `kuku-bench runtime gc`, in a process of its own (forked
// with the V8 flags under test): the matching engine's order flow, `runs`
// times, the first warming the JIT up; the GC pauses of the last run, from a
// PerformanceObserver, are reported with its rate and latency.
import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics } from "node:v8";
import { krxOrderFlow, runFlow } from "../../commands/exchange-matching.js";
import type { GcPause } from "./gc.js";

const spec = JSON.parse(process.argv[2] ?? "{}") as { orders: number; runs: number; seed: number };
let pauses: GcPause[] = [];
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind =
      (entry as PerformanceEntry & { detail: { kind: number } }).detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR ? "major" : "minor";
    pauses.push({ kind, ms: entry.duration });
  }
});
observer.observe({ entryTypes: ["gc"] });
const flow = krxOrderFlow(spec.orders, spec.seed);
let last: ReturnType<typeof runFlow> | undefined;
// Observer entries arrive between turns of the event loop and a run is one long turn: each run starts
// from a collected heap (as in `exchange matching`), and its pauses are counted after a turn.
const collect = (globalThis as { gc?: () => void }).gc!;
const turn = () => new Promise((resolve) => setTimeout(resolve, 50));
for (let run = 1; run <= spec.runs; run++) {
  collect();
  await turn();
  pauses = [];
  last = runFlow(flow, run);
}
await turn();
observer.disconnect();
const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
process.send?.(
  {
    result: {
      seconds: last!.seconds,
      perSecond: Math.round(spec.orders / last!.seconds),
      p50Micros: last!.latency.percentile(50),
      p99Micros: last!.latency.percentile(99),
      pauses,
      newSpaceBytes: newSpace?.space_size ?? 0,
    },
  },
  () => process.exit(0),
);
