import { type ParseArgsConfig, parseArgs } from "node:util";

export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly default?: string | boolean;
  readonly description: string;
}

/** One benchmark: `kuku-bench <group> <name> [--flags]`. */
export interface BenchCommand {
  readonly name: string;
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  run(values: Readonly<Record<string, string | boolean | undefined>>): Promise<void>;
}

export class UsageError extends Error {
  override name = "UsageError";
}

export function helpText(command: BenchCommand): string {
  const lines = [`kuku-bench ${command.name} — ${command.summary}`, "", "options:"];
  for (const [flag, spec] of Object.entries(command.options)) {
    const value = spec.type === "string" ? " <value>" : "";
    const fallback = spec.default === undefined ? "" : ` (default: ${String(spec.default)})`;
    lines.push(`${`  --${flag}${value}`.padEnd(28)}${spec.description}${fallback}`);
  }
  lines.push(`${`  --help`.padEnd(28)}this text`);
  return lines.join("\n");
}

export function parseOptions(command: BenchCommand, argv: string[]) {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: "boolean", default: false } } as ParseArgsConfig["options"],
      strict: true,
      allowPositionals: false,
    });
    return values as Record<string, string | boolean | undefined>;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${helpText(command)}`);
  }
}

/** A positive integer flag, or a clear error naming the flag. */
export function intOption(values: Readonly<Record<string, unknown>>, flag: string, min = 1): number {
  const text = String(values[flag]);
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** A comma-separated list of positive integers, e.g. --concurrency 1,16,64. */
export function intListOption(values: Readonly<Record<string, unknown>>, flag: string): number[] {
  const text = String(values[flag]);
  const items = text.split(",").map((x) => x.trim());
  if (items.some((x) => !/^\d+$/.test(x) || Number(x) < 1)) {
    throw new UsageError(`--${flag} must be a comma-separated list of positive integers, got ${JSON.stringify(text)}`);
  }
  return items.map(Number);
}

/** A comma-separated list of names out of `allowed`, e.g. --nemeses ledger,order; at least one. */
export function choiceListOption<T extends string>(values: Readonly<Record<string, unknown>>, flag: string, allowed: readonly T[]): T[] {
  const text = String(values[flag]);
  const items = text.split(",").map((x) => x.trim());
  if (items.some((x) => !(allowed as readonly string[]).includes(x))) {
    throw new UsageError(`--${flag}: one or more of ${allowed.join(", ")}, got ${text}`);
  }
  return items as T[];
}

/** A duration like 500ms, 20s or 2m. */
export function durationMsOption(values: Readonly<Record<string, unknown>>, flag: string): number {
  const text = String(values[flag]);
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (match === null) throw new UsageError(`--${flag} must look like 500ms, 20s or 2m, got ${JSON.stringify(text)}`);
  const unitMs = { ms: 1, s: 1_000, m: 60_000 }[match[2] as "ms" | "s" | "m"];
  return Number(match[1]) * unitMs;
}
