// The read-heavy open loop of `kuku-bench reads` and `kuku-bench soak`: the
// whole stack behind the gateway, users signed up and funded as `surge` does,
// a few trades so that the market has a quote and a book, and ghz sending one
// scenario of bench/load/ at a constant arrival rate (open loop: a slow
// answer does not slow the arrivals).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as gateway from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { createServiceClient } from "@kuku/platform";
import { eventually, run, startTradingStack, TOOLS_BIN, type TradingStack } from "@kuku/testkit";
import { fundedUsers, type GhzReport, tokensMetadata } from "../commands/surge.js";

export const READ_SCENARIOS = {
  quote: "get-quote.json",
  book: "get-order-book.json",
  portfolio: "get-portfolio.json",
} as const;
export type ReadScenario = keyof typeof READ_SCENARIOS;
export const READ_SCENARIO_NAMES = Object.keys(READ_SCENARIOS) as ReadScenario[];

const SYMBOL = "005930";

export interface ReadStack {
  readonly stack: TradingStack;
  readonly metadataFile: string;
  stop(): Promise<void>;
}

/** Market buys by the first users until the market quotes the symbol (the exchange's market maker sells). */
async function makeTrades(baseUrl: string, tokens: readonly string[]): Promise<void> {
  const trading = createServiceClient(gateway.TradingService, { baseUrl, timeoutMs: 30_000 });
  const headers = { authorization: `Bearer ${tokens[0]!}` };
  await eventually(
    "the market quotes the symbol",
    async () => {
      await trading.placeOrder(
        {
          idempotencyKey: `reads-${Date.now()}`,
          symbol: SYMBOL,
          side: Side.BUY,
          type: OrderType.MARKET,
          timeInForce: TimeInForce.IOC,
          quantity: 1n,
        },
        { headers },
      );
      return (await trading.getQuote({ symbol: SYMBOL }, { headers }).catch(() => undefined))?.quote !== undefined;
    },
    60_000,
  );
}

export async function startReadStack(users: number): Promise<ReadStack> {
  const unlimited = "1000000"; // the per-user and per-address buckets (one address: ghz's) must not be what is measured
  const stack = await startTradingStack({
    services: ["ledger", "exchange", "order", "market", "gateway"],
    env: { LOG_LEVEL: "info" },
    envOf: {
      gateway: {
        GATEWAY_RATE_IP_BURST: unlimited,
        GATEWAY_RATE_IP_PER_SECOND: unlimited,
        GATEWAY_RATE_USER_BURST: unlimited,
        GATEWAY_RATE_USER_PER_SECOND: unlimited,
      },
    },
  });
  const work = mkdtempSync(join(tmpdir(), "kuku-reads-"));
  const metadataFile = join(work, "metadata.json");
  try {
    const tokens = await fundedUsers(stack.url("gateway"), users);
    writeFileSync(metadataFile, tokensMetadata(tokens));
    await makeTrades(stack.url("gateway"), tokens);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return {
    stack,
    metadataFile,
    async stop() {
      await stack.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** One ghz run of a scenario at a constant `rate` calls/s for `durationMs`. */
export async function ghzConstant(reads: ReadStack, scenario: ReadScenario, rate: number, durationMs: number): Promise<GhzReport> {
  const config = fileURLToPath(new URL(`../../load/${READ_SCENARIOS[scenario]}`, import.meta.url));
  const args = [
    `--config=${config}`,
    `--metadata-file=${reads.metadataFile}`,
    `--rps=${rate}`,
    `--duration=${Math.max(1, Math.round(durationMs / 1000))}s`,
    "--format=json",
    `127.0.0.1:${reads.stack.process("gateway").port}`,
  ];
  const out = await run(`${TOOLS_BIN}/ghz`, args);
  if (out.code !== 0) throw new Error(`ghz exited with ${out.code}: ${out.stderr}${out.stdout.slice(0, 2000)}`);
  return JSON.parse(out.stdout) as GhzReport;
}
