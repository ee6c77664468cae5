/** Latency samples in microseconds; percentiles by nearest rank. */
export class Histogram {
  readonly #samples: number[] = [];

  record(micros: number): void {
    this.#samples.push(micros);
  }

  get count(): number {
    return this.#samples.length;
  }

  percentile(p: number): number {
    if (this.#samples.length === 0) return Number.NaN;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank]!;
  }
}

export function microsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1_000;
}

/** A plain text table, columns padded to their widest cell. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const line = (r: readonly (string | number)[]) => r.map((c, i) => String(c).padStart(widths[i]!)).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** `count` sequential runs of `op` after a warm-up: a table row of name, ops/s, p50 µs, p99 µs. */
export async function measureSequential(name: string, count: number, op: () => Promise<unknown>): Promise<(string | number)[]> {
  for (let i = 0; i < Math.min(1_000, count); i++) await op(); // warm-up: JIT and connections
  const latency = new Histogram();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await op();
    latency.record(microsSince(t0));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return [name, Math.round(count / seconds), latency.percentile(50).toFixed(1), latency.percentile(99).toFixed(1)];
}
