// kuku-bench reads (week 8): read-heavy open-loop scenarios through the
// gateway with ghz — GetQuote, GetOrderBook (the market service behind the
// gateway) and GetPortfolio (the ledger and the order service) — each at
// constant arrival rates, latency counted from when each call was due.
import { cpus, loadavg } from "node:os";
import { choiceList, command, duration, int, intList } from "../lib/command.js";
import { ghzConstant, READ_SCENARIO_NAMES, READ_SCENARIOS, startReadStack } from "../lib/read-load.js";
import { table } from "../lib/stats.js";
import { ghzRow } from "./surge.js";

export const reads = command({
  name: "reads",
  summary: "open-loop read-heavy scenarios through the gateway with ghz (GetQuote, GetOrderBook, GetPortfolio) at constant rates",
  options: {
    scenarios: choiceList(READ_SCENARIO_NAMES, "scenarios to run, each at every rate"),
    rates: intList("arrival rates, calls/s, one run each", "250,500,1000"),
    hold: duration("time per rate", "20s"),
    users: int("users signed up and funded through the gateway (their tokens in turn)", 50),
  },
  async run(values) {
    const loadBefore = loadavg()[0]!;
    const readStack = await startReadStack(values.users);
    try {
      const rows: (string | number)[][] = [];
      for (const scenario of values.scenarios) {
        for (const rate of values.rates) {
          const report = await ghzConstant(readStack, scenario, rate, values.hold);
          rows.push([scenario, ...ghzRow(rate, report), loadavg()[0]!.toFixed(1)]);
        }
      }
      console.log(
        `reads — ghz open loop (bench/load/${Object.values(READ_SCENARIOS).join(", ")}) through the gateway, ${values.users} users' tokens in turn, ${values.hold / 1000} s per rate`,
      );
      const headers = [
        "scenario",
        "offered/s",
        "calls",
        "answered/s",
        "OK",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "error %",
        "errors by code",
        "load 1m",
      ];
      console.log(table(headers, rows));
      console.log(
        `machine: ${cpus().length} cores, 1-min load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other work shares the cores)`,
      );
    } finally {
      await readStack.stop();
    }
  },
});
