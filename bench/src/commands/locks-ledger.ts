// `kuku-bench locks --via ledger`: the ledger's own balance guards
// (LEDGER_BALANCE_GUARD), each in a ledger service started as a real process,
// driven through gRPC with PlaceHold, the call that reserves `available`.
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type { BalanceGuardName } from "@kuku/ledger/balance-guard";
import { fundedAccounts, type LedgerUnderTest, startLedger } from "../lib/ledger.js";
import { closedLoop, loadFigures } from "../lib/load.js";

const START_MINOR = 1_000_000_000n;
/** GetBalancesRequest.account_ids takes at most 100 ids. */
const GET_BALANCES_MAX = 100;

export interface LedgerRunOptions {
  readonly accountCounts: readonly number[];
  readonly concurrencies: readonly number[];
  readonly durationMs: number;
  readonly lockTtlMs: number;
  readonly poolSize: number;
  readonly attemptsMax: number;
}

/** Held and available of the run's accounts, summed; and how many are overdrawn. */
async function snapshot(client: LedgerClient, accountIds: readonly string[]) {
  const balances = [];
  for (let start = 0; start < accountIds.length; start += GET_BALANCES_MAX) {
    balances.push(...(await client.getBalances({ accountIds: accountIds.slice(start, start + GET_BALANCES_MAX) })).balances);
  }
  return {
    heldMinor: balances.reduce((sum, b) => sum + b.heldMinor, 0n),
    totalMinor: balances.reduce((sum, b) => sum + b.totalMinor, 0n),
    overdrawn: balances.filter((b) => b.availableMinor < 0n).length,
  };
}

function heldMatches(placedMinor: bigint, ok: number, unknown: number): boolean {
  return placedMinor >= BigInt(ok) && placedMinor <= BigInt(ok + unknown);
}

type LedgerClient = Client<typeof api.LedgerService>;

/** One measured run: PlaceHold of 1 won on random accounts of the set, then the invariant checks. */
async function measure(
  client: LedgerClient,
  guard: BalanceGuardName,
  accountIds: readonly string[],
  concurrency: number,
  durationMs: number,
) {
  const accounts = accountIds.length;
  const before = await snapshot(client, accountIds);
  let aborted = 0;
  let errors = 0;
  let sequence = 0;
  process.stderr.write(`  ledger ${guard}, ${accounts} accounts, ${concurrency} in flight ...`);
  const load = await closedLoop(concurrency, durationMs, async () => {
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
  return {
    strategy: guard,
    accounts,
    concurrency,
    ...loadFigures(load),
    aborted,
    errors,
    overdrawn: after.overdrawn,
    // Every hold that answered OK is held exactly once (one that failed otherwise may or may not have
    // been placed, an ABORTED one was not), and no money moved.
    heldMismatch:
      heldMatches(after.heldMinor - before.heldMinor, load.latency.count, errors) && after.totalMinor === before.totalMinor ? 0 : 1,
    discrepancies: report.discrepancies.length,
  };
}

/**
 * Every guard's ledger runs at once (idle while another is measured), and
 * each cell (accounts x concurrency) measures the guards back to back: on a
 * shared machine the load drifts over minutes, and the ratios compared are
 * the ones within a cell.
 */
export async function runThroughLedger(
  guards: readonly BalanceGuardName[],
  o: LedgerRunOptions,
): Promise<Record<string, string | number>[]> {
  const ledgers: LedgerUnderTest[] = [];
  try {
    for (const guard of guards) {
      ledgers.push(
        await startLedger({
          LEDGER_BALANCE_GUARD: guard,
          LEDGER_POOL_SIZE_MAX: String(o.poolSize),
          LEDGER_TX_ATTEMPTS_MAX: String(o.attemptsMax),
          LEDGER_REDLOCK_TTL_MS: String(o.lockTtlMs),
          // A queue of many holds on one row under load can pass the 10 s default.
          LEDGER_STATEMENT_TIMEOUT_MS: "60000",
        }),
      );
    }
    const results: Record<string, string | number>[] = [];
    for (const accounts of o.accountCounts) {
      const funded = await Promise.all(
        ledgers.map((l, i) => fundedAccounts(l.client, accounts, START_MINOR, `locks-${guards[i]}-${accounts}`)),
      );
      for (const concurrency of o.concurrencies) {
        for (const [i, ledger] of ledgers.entries()) {
          results.push(await measure(ledger.client, guards[i]!, funded[i]!, concurrency, o.durationMs));
        }
      }
    }
    // Grouped per strategy, as the direct mode prints them.
    return guards.flatMap((g) => results.filter((r) => r.strategy === g));
  } finally {
    await Promise.all(ledgers.map((l) => l.stop()));
  }
}
