// Group commit (ADR 0018): concurrent mutations queue; a writer takes
// whatever has queued (bounded) as soon as its previous batch committed and
// applies it in ONE transaction. Nothing waits for a timer: alone, a
// mutation is a batch of one. A few writers run at once, so that one
// batch's round trips and commit overlap another's; every batch locks its
// rows in one fixed order (holds, then balances, each by id), so they queue
// on a shared row and never deadlock.
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { jitteredBackoffMs, type Logger, withTransaction } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import { DomainError, failedPrecondition } from "@kuku/platform/errors";
import type pg from "pg";
import { type Balance, type Hold, systemOwnerId } from "../../domain/model.js";
import { failureToError } from "../../domain/outcomes.js";
import { RunningState } from "../../domain/running-state.js";
import { readBatchStart, readRequests, type StoredRequest, writeBatch } from "../../store/batch-store.js";
import * as store from "../../store/ledger-store.js";
import type { TransactionOptions } from "../../store/transactions.js";
import type { BatchContext, BatchItem } from "./operations.js";

/** One item's answer: its response (first or replayed), or why it was not applied. */
export type ItemResult =
  | { readonly ok: true; readonly response: MessageShape<DescMessage> }
  | { readonly ok: false; readonly error: unknown };

/** Items applied all or nothing, in order; a unary call is a chain of one. */
interface Chain {
  readonly items: readonly BatchItem[];
  readonly answer: (results: ItemResult[]) => void;
}

// Nothing was done and a new attempt may succeed: a serialization failure,
// a deadlock (with a writer of another process), a request id claimed by
// another process meanwhile (the next attempt replays it).
const RETRYABLE = new Set(["40001", "40P01", "23505"]);

export interface BatchWriterDeps {
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly transactions: TransactionOptions;
  /** Items per transaction at most (a longer chain is a batch of its own). */
  readonly itemsMax: number;
  /** Batches in flight at once, each on its own connection. */
  readonly writers: number;
}

export interface BatchStats {
  batches: number;
  items: number;
  /** Batches split to isolate an item the database refused. */
  splits: number;
}

export class BatchWriter {
  readonly stats: BatchStats = { batches: 0, items: 0, splits: 0 };
  /** Submissions waiting, each a list of chains that stay together and in order. */
  readonly #queue: Chain[][] = [];
  #writing = 0;
  /** The outside world's account per asset: opened once, never changes. */
  readonly #externals = new Map<string, string>();

  constructor(private readonly deps: BatchWriterDeps) {}

  /**
   * Queues chains that are taken into batches together and applied in their
   * order (one SubmitBatch); resolves with one result per item of each chain
   * once its batch committed (or failed).
   */
  submit(chains: readonly (readonly BatchItem[])[]): Promise<ItemResult[][]> {
    return new Promise((resolve) => {
      const results: ItemResult[][] = [];
      let left = chains.length;
      const answer = (i: number) => (chainResults: ItemResult[]) => {
        results[i] = chainResults;
        if (--left === 0) resolve(results);
      };
      this.#queue.push(chains.map((items, i) => ({ items, answer: answer(i) })));
      if (this.#writing < this.deps.writers) void this.#drain();
    });
  }

  /** One mutation: its response, or its error thrown. */
  async one<S extends DescMessage>(item: BatchItem<S>): Promise<MessageShape<S>> {
    const [[result] = []] = await this.submit([[item]]);
    assert(result !== undefined, "one result per item");
    if (!result.ok) throw result.error;
    return result.response as MessageShape<S>;
  }

  async #drain(): Promise<void> {
    this.#writing += 1;
    try {
      while (this.#queue.length > 0) await this.#write(this.#take());
    } finally {
      this.#writing -= 1;
    }
  }

  /** Whole submissions from the head of the queue, up to itemsMax items (at least one submission). */
  #take(): Chain[] {
    let count = 0;
    let items = 0;
    for (const submission of this.#queue) {
      const size = submission.reduce((n, c) => n + c.items.length, 0);
      if (count > 0 && items + size > this.deps.itemsMax) break;
      count++;
      items += size;
    }
    return this.#queue.splice(0, count).flat();
  }

  /**
   * Applies chains in one transaction, again when the database asks for it;
   * when it refuses the batch otherwise, splits it in halves until the bad
   * chain stands alone, so that every other chain still gets its answer.
   */
  async #write(chains: readonly Chain[]): Promise<void> {
    const { attemptsMax, backoffBaseMs, backoffMaxMs } = this.deps.transactions;
    for (let attempt = 1; ; attempt++) {
      try {
        const results = await withTransaction(this.deps.pool, (db) => this.#apply(db, chains), { isolation: "read committed" });
        this.stats.batches += 1;
        for (const [i, chain] of chains.entries()) chain.answer(results[i]!);
        return;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < attemptsMax) {
          await new Promise((resolve) => setTimeout(resolve, jitteredBackoffMs(attempt, backoffBaseMs, backoffMaxMs)));
          continue;
        }
        if (chains.length > 1) return this.#split(chains);
        // Nothing was written: the caller may send the same request id again.
        const answer = RETRYABLE.has(code ?? "")
          ? new DomainError("aborted", `gave up after ${attempt} attempts`, {}, { cause: error })
          : error;
        this.deps.logger.error({ err: error, requestIds: chains[0]!.items.map((i) => i.requestId) }, "the database refused a mutation");
        chains[0]!.answer(chains[0]!.items.map(() => ({ ok: false, error: answer })));
        return;
      }
    }
  }

  /** In order, one half after the other: a submission's chains apply in the order given. */
  async #split(chains: readonly Chain[]): Promise<void> {
    this.stats.splits += 1;
    const half = Math.ceil(chains.length / 2);
    await this.#write(chains.slice(0, half));
    await this.#write(chains.slice(half));
  }

  /** Locks what the batch touches, applies it in memory, writes it in one statement. */
  async #apply(db: pg.PoolClient, chains: readonly Chain[]): Promise<ItemResult[][]> {
    const items = chains.flatMap((c) => c.items);
    const start = await this.#start(db, items);
    let run = this.#evaluate(start, chains, start.stored);
    // The start read the answered requests before its locks were granted: one that another writer committed while this
    // one waited is invisible to it. A write of it would meet the requests' unique key (and be retried as a replay), but a
    // refusal would not: the replay of a settled fill would be refused instead of answered. So look again, under the locks.
    const unseen = chains.flatMap((c, i) => c.items.filter((item, j) => !run.results[i]![j]!.ok && !start.stored.has(item.requestId)));
    if (unseen.length > 0) {
      const late = await readRequests(
        db,
        unseen.map((item) => item.requestId),
      );
      if (late.size > 0) run = this.#evaluate(start, chains, new Map([...start.stored, ...late]));
    }
    const { state, written, results } = run;
    const { updated, placed } = state.changedHolds();
    await writeBatch(db, { at: start.at, balances: state.changedBalances(), updatedHolds: updated, placedHolds: placed, ...written });
    this.stats.items += items.length;
    return results;
  }

  /** The batch's chains applied in memory, in order, from the locked rows and the requests answered before it. */
  #evaluate(
    start: { readonly at: Date; readonly balances: ReadonlyMap<string, Balance>; readonly holds: ReadonlyMap<string, Hold> },
    chains: readonly Chain[],
    stored: ReadonlyMap<string, StoredRequest>,
  ) {
    const state = new RunningState(start.balances, start.holds);
    const ctx: BatchContext = { state, at: start.at, external: (asset) => this.#externals.get(asset)! };
    const answered = new Map(stored);
    const written: Written = { entries: [], requests: [] };
    const results = chains.map((chain) => applyChain(ctx, chain.items, answered, written));
    return { state, written, results };
  }

  /**
   * Reads the batch's start and locks its rows: holds, then balances, each
   * in id order, as the unary path does, so no two writers wait on each
   * other in a cycle. Without holds, and with the outside world's accounts
   * known (every one is locked when anything posts against one), that is
   * one round trip.
   */
  async #start(db: pg.PoolClient, items: readonly BatchItem[]) {
    const requestIds = items.map((i) => i.requestId);
    const externalFor = items.flatMap((i) => i.externalFor ?? []);
    const named = items.flatMap((i) => i.accountIds);
    const holdIds = items.flatMap((i) => i.holdIds);
    if (holdIds.length === 0) {
      const externals = externalFor.length === 0 ? [] : [...this.#externals.values()];
      const start = await readBatchStart(db, requestIds, externalFor, [...named, ...externals]);
      await this.#openExternals(new Set(start.assets.values()));
      // An asset's first posting against the outside world (or one another writer just saw first): its account is locked
      // last, out of order (a deadlock this may cause is retried).
      const unlocked = [...new Set(start.assets.values())].map((a) => this.#externals.get(a)!).filter((id) => !start.balances.has(id));
      if (unlocked.length === 0) return { ...start, holds: new Map<string, Hold>() };
      const more = await store.lockBalances(db, unlocked);
      return { ...start, balances: new Map([...start.balances, ...more]), holds: new Map<string, Hold>() };
    }
    const start = await readBatchStart(db, requestIds, externalFor, []);
    await this.#openExternals(new Set(start.assets.values()));
    const externals = [...new Set(start.assets.values())].map((asset) => this.#externals.get(asset)!);
    const holds = await store.lockHolds(db, holdIds);
    const balances = await store.lockBalances(db, [...named, ...[...holds.values()].map((h) => h.accountId), ...externals]);
    return { ...start, balances, holds };
  }

  /** Opens the outside world's accounts of assets not seen before. */
  async #openExternals(assets: ReadonlySet<string>): Promise<void> {
    for (const asset of assets) {
      if (this.#externals.has(asset)) continue;
      // Committed on its own: an account is a fact that no rollback of a batch should undo.
      const account = await store.openAccount(this.deps.pool, systemOwnerId("external"), asset, "external");
      this.#externals.set(asset, account.accountId);
    }
  }
}

interface Written {
  entries: NonNullable<ReturnType<BatchItem["apply"]>["entry"]>[];
  requests: { requestId: string; operation: string; payloadHash: Uint8Array; response: Uint8Array }[];
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(b);

/**
 * Applies a chain's items in order to the running state. A refused item
 * undoes the whole chain: it answers with its refusal, the others with
 * "not applied". A request id answered before (in an earlier batch, or
 * earlier in this one) answers its first result.
 */
function applyChain(ctx: BatchContext, items: readonly BatchItem[], answered: Map<string, StoredRequest>, written: Written): ItemResult[] {
  const results: ItemResult[] = [];
  const mine: Written = { entries: [], requests: [] };
  const kept = ctx.state.chain(() => {
    for (const item of items) {
      const result = applyItem(ctx, item, answered, mine);
      results.push(result);
      if (!result.ok) return false;
    }
    return true;
  });
  if (kept) {
    written.entries.push(...mine.entries);
    written.requests.push(...mine.requests);
    return results;
  }
  // The chain's own answers were never stored: forget them.
  for (const r of mine.requests) answered.delete(r.requestId);
  const failed = results.length - 1;
  return items.map((_, i) =>
    i === failed ? results[i]! : { ok: false, error: failedPrecondition(`not applied: operation ${failed} of its linked chain failed`) },
  );
}

function applyItem(ctx: BatchContext, item: BatchItem, answered: Map<string, StoredRequest>, written: Written): ItemResult {
  const first = answered.get(item.requestId);
  if (first !== undefined) {
    if (first.operation !== item.operation || !sameBytes(first.payloadHash, item.payloadHash)) {
      return { ok: false, error: failureToError({ kind: "request_conflict", requestId: item.requestId, operation: first.operation }) };
    }
    return { ok: true, response: fromBinary(item.responseSchema, first.response) };
  }
  try {
    const { response, entry } = item.apply(ctx);
    const stored = {
      requestId: item.requestId,
      operation: item.operation,
      payloadHash: item.payloadHash,
      response: toBinary(item.responseSchema, response),
    };
    answered.set(item.requestId, stored);
    written.requests.push(stored);
    if (entry !== undefined) written.entries.push(entry);
    return { ok: true, response };
  } catch (error) {
    return { ok: false, error };
  }
}
