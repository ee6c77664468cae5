// The benchmark CLI as the smoke tests run it, and the rows of the tables it prints.
import { fileURLToPath } from "node:url";
import { run } from "@kuku/testkit";

const CLI = fileURLToPath(new URL("../../bin/kuku-bench.mjs", import.meta.url));
export const bench = (...args: string[]) => run(process.execPath, [CLI, ...args]);

/** The table rows whose first cell matches, split on runs of two or more spaces. */
export const rowsOf = (stdout: string, first: RegExp) =>
  stdout
    .split("\n")
    .map((l) => l.trim().split(/\s{2,}/))
    .filter((cells) => first.test(cells[0] ?? ""));
