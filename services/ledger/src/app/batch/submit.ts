// SubmitBatch's chains (TigerBeetle's linked flag): an operation linked to
// the next one belongs to its chain; a chain is applied all or nothing.
import { DomainError, failedPrecondition, invalidArgument } from "@kuku/platform/errors";
import type { BatchItem } from "./operations.js";
import type { BatchWriter, ItemResult } from "./writer.js";

/** One operation of a batch: its item, or why it is invalid; and whether it links to the next. */
export interface BatchOperation {
  readonly item: BatchItem | DomainError;
  readonly linked: boolean;
}

/** Splits operations into chains: runs of linked operations ended by the first unlinked one. */
function chainsOf(operations: readonly BatchOperation[]): BatchOperation[][] {
  const chains: BatchOperation[][] = [];
  let current: BatchOperation[] = [];
  for (const operation of operations) {
    current.push(operation);
    if (!operation.linked) {
      chains.push(current);
      current = [];
    }
  }
  if (current.length > 0) chains.push(current);
  return chains;
}

/** A chain with an invalid or open-ended member fails before it is queued; its first bad member says why. */
function refusedChain(chain: readonly BatchOperation[], isLast: boolean): ItemResult[] | undefined {
  const open = isLast && chain.at(-1)!.linked;
  const bad = chain.findIndex((o) => o.item instanceof DomainError);
  if (bad < 0 && !open) return undefined;
  const culprit = bad >= 0 ? bad : chain.length - 1;
  const why = bad >= 0 ? (chain[bad]!.item as DomainError) : invalidArgument("linked", "the last operation of a batch cannot be linked");
  return chain.map((_, i) => ({
    ok: false,
    error: i === culprit ? why : failedPrecondition(`not applied: operation ${culprit} of its linked chain failed`),
  }));
}

/** Queues every valid chain as one submission (applied in order) and answers one result per operation, in order. */
export async function submitBatch(writer: BatchWriter, operations: readonly BatchOperation[]): Promise<ItemResult[]> {
  const chains = chainsOf(operations);
  const refused = chains.map((chain, i) => refusedChain(chain, i === chains.length - 1));
  const valid = chains.filter((_, i) => refused[i] === undefined).map((chain) => chain.map((o) => o.item as BatchItem));
  const applied = valid.length === 0 ? [] : await writer.submit(valid);
  let next = 0;
  return refused.flatMap((r) => r ?? applied[next++]!);
}
