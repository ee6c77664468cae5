import type { BenchCommand } from "../lib/command.js";
import { ledgerTransfers } from "./ledger-transfers.js";

/** Every benchmark the CLI knows, by name. */
export const COMMANDS: readonly BenchCommand[] = [ledgerTransfers];
