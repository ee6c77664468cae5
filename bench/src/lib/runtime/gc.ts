// GC pauses, from V8's --trace-gc lines (a service process) or from a
// PerformanceObserver (a process of the benchmark's own), summarised alike.
import { UsageError } from "../command.js";
import { Histogram } from "../stats.js";

export interface GcPause {
  /** Young generation (scavenge, minor mark-sweep) or the whole heap. */
  readonly kind: "minor" | "major";
  readonly ms: number;
}

// "[pid:0x…]  81 ms: Scavenge 5.0 (5.6) -> 4.6 (6.3) MB, pooled: 0.0 MB, 1.47 / 0.00 ms (average mu …"
const TRACE_LINE = /\d+ ms: (Scavenge|Minor Mark-Sweep|Mark-Compact|Mark-Sweep)\b.*?, ([\d.]+) \/ [\d.]+ ms/;

/** The pauses in --trace-gc output, in order. */
export function parseTraceGc(lines: readonly string[]): GcPause[] {
  const pauses: GcPause[] = [];
  for (const text of lines) {
    for (const line of text.split("\n")) {
      const match = TRACE_LINE.exec(line);
      if (match === null) continue;
      pauses.push({ kind: /Scavenge|Minor/.test(match[1]!) ? "minor" : "major", ms: Number(match[2]) });
    }
  }
  return pauses;
}

export interface GcSummary {
  readonly minor: number;
  readonly major: number;
  readonly totalMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Share of the wall time spent paused. */
  readonly share: number;
}

export function gcSummary(pauses: readonly GcPause[], seconds: number): GcSummary {
  const histogram = new Histogram();
  for (const pause of pauses) histogram.record(pause.ms);
  const totalMs = pauses.reduce((sum, p) => sum + p.ms, 0);
  return {
    minor: pauses.filter((p) => p.kind === "minor").length,
    major: pauses.filter((p) => p.kind === "major").length,
    totalMs,
    p99Ms: pauses.length === 0 ? 0 : histogram.percentile(99),
    maxMs: Math.max(0, ...pauses.map((p) => p.ms)),
    share: totalMs / 1000 / seconds,
  };
}

/** The columns every GC table prints, after its own. */
export const GC_HEADERS = ["minor GCs", "major GCs", "GC ms", "GC p99 ms", "GC max ms", "time in GC"] as const;
export const gcCells = (s: GcSummary) => [
  s.minor,
  s.major,
  s.totalMs.toFixed(0),
  s.p99Ms.toFixed(2),
  s.maxMs.toFixed(2),
  `${(s.share * 100).toFixed(1)} %`,
];

/** A young generation size as given on the command line: "default" (V8's own) or MiB. */
export type SemiSpace = "default" | number;

export function parseSemiSpace(text: string, flag: string): SemiSpace {
  const value = text.trim();
  if (value === "default") return value;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag}: "default" or MiB >= 1, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** The node flags for a size: none for V8's own. */
export const semiSpaceFlags = (size: SemiSpace) => (size === "default" ? [] : [`--max-semi-space-size=${size}`]);
