// A benchmark command and its typed options: each option says how its flag's
// text becomes a value, so the command line is parsed once, before anything
// starts, and run() receives numbers, lists and durations, never strings.
import { parseArgs } from "node:util";

export class UsageError extends Error {
  override name = "UsageError";
}

/** One --flag <value>: its help, its default (as typed on the command line), and how its text becomes a value. */
export interface Option<T> {
  readonly description: string;
  readonly default?: string;
  /** The flag's text, or undefined when it is absent and has no default; throws UsageError naming the flag. */
  parse(text: string | undefined, flag: string): T;
}

export type Options = Readonly<Record<string, Option<unknown>>>;
export type Values<O extends Options> = { readonly [K in keyof O]: O[K] extends Option<infer T> ? T : never };

/** One benchmark: `kuku-bench <group> <name> [--flags]`. */
export interface BenchCommand<O extends Options = Options> {
  readonly name: string;
  readonly summary: string;
  readonly options: O;
  run(values: Values<O>): Promise<void>;
}

/** Declares a command; its options' value types flow into run(). */
export const command = <O extends Options>(definition: BenchCommand<O>): BenchCommand<O> => definition;

export function helpText(command: BenchCommand): string {
  const lines = [`kuku-bench ${command.name} — ${command.summary}`, "", "options:"];
  for (const [flag, option] of Object.entries(command.options)) {
    const fallback = option.default === undefined ? "" : ` (default: ${option.default})`;
    lines.push(`${`  --${flag} <value>`.padEnd(28)}${option.description}${fallback}`);
  }
  lines.push(`${`  --help`.padEnd(28)}this text`);
  return lines.join("\n");
}

/** The command's values, or "help" for --help (then no value is checked). */
export function parseOptions<O extends Options>(command: BenchCommand<O>, argv: string[]): Values<O> | "help" {
  let given: Record<string, string | boolean | undefined>;
  try {
    const flags = Object.fromEntries(Object.keys(command.options).map((flag) => [flag, { type: "string" as const }]));
    given = parseArgs({ args: argv, options: { ...flags, help: { type: "boolean" } }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${helpText(command)}`);
  }
  if (given["help"] === true) return "help";
  const values = Object.entries(command.options).map(([flag, option]) => [
    flag,
    option.parse((given[flag] as string) ?? option.default, flag),
  ]);
  return Object.fromEntries(values) as Values<O>;
}

const required = (text: string | undefined, flag: string): string => {
  if (text === undefined) throw new UsageError(`--${flag} is required`);
  return text;
};

const listItems = (text: string | undefined, flag: string): string[] =>
  required(text, flag)
    .split(",")
    .map((x) => x.trim());

/** A whole number >= min, e.g. --users 20; without a default, absent means undefined. */
export function int(description: string, fallback: number, min?: number): Option<number>;
export function int(description: string, fallback?: undefined, min?: number): Option<number | undefined>;
export function int(description: string, fallback?: number, min = 1): Option<number | undefined> {
  return {
    description,
    ...(fallback === undefined ? {} : { default: String(fallback) }),
    parse(text, flag) {
      if (text === undefined) return undefined;
      const value = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
        throw new UsageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
      }
      return value;
    },
  };
}

/** A comma-separated list of positive integers, e.g. --concurrency 1,16,64. */
export function intList(description: string, fallback: string): Option<number[]> {
  return {
    description,
    default: fallback,
    parse(text, flag) {
      const items = listItems(text, flag);
      if (items.some((x) => !/^\d+$/.test(x) || Number(x) < 1)) {
        throw new UsageError(`--${flag} must be a comma-separated list of positive integers, got ${JSON.stringify(text)}`);
      }
      return items.map(Number);
    },
  };
}

/** A duration like 500ms, 20s or 2m, in milliseconds. */
export function duration(description: string, fallback: string): Option<number> {
  return {
    description,
    default: fallback,
    parse(text, flag) {
      const match = /^(\d+)(ms|s|m)$/.exec(required(text, flag));
      if (match === null) throw new UsageError(`--${flag} must look like 500ms, 20s or 2m, got ${JSON.stringify(text)}`);
      return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000 }[match[2] as "ms" | "s" | "m"];
    },
  };
}

/** One name out of `allowed`, e.g. --via ledger. */
export function choice<T extends string>(allowed: readonly T[], description: string, fallback: T): Option<T> {
  return {
    description,
    default: fallback,
    parse(text, flag) {
      if (!(allowed as readonly (string | undefined)[]).includes(text)) {
        throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}, got ${JSON.stringify(text)}`);
      }
      return text as T;
    },
  };
}

/** A comma-separated list of names out of `allowed`, e.g. --nemeses ledger,order; at least one. */
export function choiceList<T extends string>(allowed: readonly T[], description: string, fallback = allowed.join(",")): Option<T[]> {
  return {
    description,
    default: fallback,
    parse(text, flag) {
      const items = listItems(text, flag);
      if (items.some((x) => !(allowed as readonly string[]).includes(x))) {
        throw new UsageError(`--${flag}: one or more of ${allowed.join(", ")}, got ${text}`);
      }
      return items as T[];
    },
  };
}

/** Free text, e.g. a URL or a path; without a default, absent means undefined. */
export function text(description: string, fallback: string): Option<string>;
export function text(description: string): Option<string | undefined>;
export function text(description: string, fallback?: string): Option<string | undefined> {
  return { description, ...(fallback === undefined ? {} : { default: fallback }), parse: (value) => value };
}
