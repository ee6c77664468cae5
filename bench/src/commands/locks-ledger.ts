// `kuku-bench locks --via ledger`: the ledger's own balance guards
// (LEDGER_BALANCE_GUARD), each in a ledger service started as a real process,
// driven through gRPC with PlaceHold, the call that reserves `available`.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type { BalanceGuardName } from "@kuku/ledger/balance-guard";
import { fundedAccounts, startLedger } from "../lib/ledger.js";
import { closedLoop, ms } from "../lib/load.js";

const START_MINOR = 1_000_000_000n;

export interface LedgerRunOptions {
  readonly accountCounts: readonly number[];
  readonly concurrencies: readonly number[];
  readonly durationMs: number;
  readonly lockTtlMs: number;
  readonly poolSize: number;
  readonly attemptsMax: number;
}

/** Held and available of the run's accounts, summed; and how many are overdrawn. */
async function snapshot(client: Client<typeof api.LedgerService>, accountIds: readonly string[]) {
  const { balances } = await client.getBalances({ accountIds: [...accountIds] });
  return {
    heldMinor: balances.reduce((sum, b) => sum + b.heldMinor, 0n),
    totalMinor: balances.reduce((sum, b) => sum + b.totalMinor, 0n),
    overdrawn: balances.filter((b) => b.availableMinor < 0n).length,
  };
}

function heldMatches(placedMinor: bigint, ok: number, unknown: number): boolean {
  return placedMinor >= BigInt(ok) && placedMinor <= BigInt(ok + unknown);
}

export async function runThroughLedger(guards: readonly BalanceGuardName[], o: LedgerRunOptions): Promise<Record<string, string | number>[]> {
  const results: Record<string, string | number>[] = [];
  for (const guard of guards) {
    const ledger = await startLedger({
      LEDGER_BALANCE_GUARD: guard,
      LEDGER_POOL_SIZE_MAX: String(o.poolSize),
      LEDGER_TX_ATTEMPTS_MAX: String(o.attemptsMax),
      LEDGER_REDLOCK_TTL_MS: String(o.lockTtlMs),
      // A queue of many holds on one row under load can pass the 10 s default.
      LEDGER_STATEMENT_TIMEOUT_MS: "60000",
    });
    try {
      const { client } = ledger;
      for (const accounts of o.accountCounts) {
        const accountIds = await fundedAccounts(client, accounts, START_MINOR, `locks-${guard}-${accounts}`);
        for (const concurrency of o.concurrencies) {
          const before = await snapshot(client, accountIds);
          let aborted = 0;
          let errors = 0;
          let sequence = 0;
          process.stderr.write(`  ledger ${guard}, ${accounts} accounts, ${concurrency} in flight ...`);
          const load = await closedLoop(concurrency, o.durationMs, async () => {
            const accountId = accountIds[Math.floor(Math.random() * accounts)]!;
            const requestId = `locks-${guard}-${accounts}-${concurrency}-${sequence++}`;
            try {
              await client.placeHold(create(api.PlaceHoldRequestSchema, { requestId, accountId, amountMinor: 1n, reference: requestId }));
              return true;
            } catch (error) {
              // ABORTED: nothing was written (optimistic gave up, Redlock not acquired or lost); the caller could retry.
              if (ConnectError.from(error).code === Code.Aborted) aborted++;
              else errors++;
              return false;
            }
          });
          const after = await snapshot(client, accountIds);
          const report = await client.verifyIntegrity({});
          process.stderr.write(` ${load.perSecond}/s\n`);
          results.push({
            strategy: guard, accounts, concurrency, opsPerSecond: load.perSecond,
            p50Ms: ms(load.latency, 50), p95Ms: ms(load.latency, 95), p99Ms: ms(load.latency, 99), aborted, errors,
            overdrawn: after.overdrawn,
            // Every hold that answered OK is held exactly once (one that failed otherwise may or may not have
            // been placed, an ABORTED one was not), and no money moved.
            heldMismatch: heldMatches(after.heldMinor - before.heldMinor, load.latency.count, errors) && after.totalMinor === before.totalMinor ? 0 : 1,
            discrepancies: report.discrepancies.length,
          });
        }
      }
    } finally {
      await ledger.stop();
    }
  }
  return results;
}
