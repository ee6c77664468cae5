import type { BenchCommand } from "../lib/command.js";

/** Every benchmark the CLI knows, by name. */
export const COMMANDS: readonly BenchCommand[] = [];
