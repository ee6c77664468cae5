// The same double-entry transfer on two SQL engines, for ADR 0004. Each
// engine runs the same statements in the same order: lock both balances in
// id order, check funds, update both, insert the entry and its two postings.

export interface TransferEngine {
  readonly name: string;
  /** Creates the tables and funds `accounts` accounts with `fundingMinor` each. */
  setUp(accounts: number, fundingMinor: bigint): Promise<void>;
  /** One transfer in one READ COMMITTED transaction; false when funds are short. */
  transfer(requestId: string, fromId: number, toId: number, amountMinor: bigint): Promise<boolean>;
  /** Sum of all balances, and how many balances differ from their postings. */
  audit(): Promise<{ totalMinor: bigint; mismatches: number; entries: number }>;
  close(): Promise<void>;
}

export class InsufficientFunds extends Error {
  override name = "InsufficientFunds";
}

/** Applies a transfer to the two locked balances: the domain rule both engines share. */
export function plan(balances: ReadonlyMap<number, bigint>, fromId: number, toId: number, amountMinor: bigint) {
  const from = balances.get(fromId);
  const to = balances.get(toId);
  if (from === undefined || to === undefined) throw new Error(`accounts ${fromId}, ${toId} must exist`);
  if (from < amountMinor) throw new InsufficientFunds();
  return { fromMinor: from - amountMinor, toMinor: to + amountMinor };
}
