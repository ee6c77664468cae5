// Expected failures are values; the RPC layer maps each kind to one gRPC code.

/** Bad input: INVALID_ARGUMENT naming the field. */
export interface Invalid {
  readonly kind: "invalid";
  readonly field: string;
  readonly reason: string;
}

/** Not enough available: FAILED_PRECONDITION with the shortfall. */
export interface InsufficientFunds {
  readonly kind: "insufficient_funds";
  readonly accountId: string;
  readonly asset: string;
  readonly requestedMinor: bigint;
  readonly availableMinor: bigint;
  readonly shortfallMinor: bigint;
}

/** A hold cannot give what is asked: FAILED_PRECONDITION. */
export interface HoldExhausted {
  readonly kind: "hold_exhausted";
  readonly holdId: string;
  readonly requestedMinor: bigint;
  readonly remainingMinor: bigint;
}

export interface NotFound {
  readonly kind: "not_found";
  readonly field: string;
  readonly id: string;
}

export type Failure = Invalid | InsufficientFunds | HoldExhausted | NotFound | RequestConflict;
export type Outcome<T> = { readonly kind: "ok"; readonly value: T } | Failure;

export const ok = <T>(value: T): Outcome<T> => ({ kind: "ok", value });
export const invalid = (field: string, reason: string): Invalid => ({ kind: "invalid", field, reason });

/** A request id reused for another payload: ALREADY_EXISTS. */
export interface RequestConflict {
  readonly kind: "request_conflict";
  readonly requestId: string;
  readonly operation: string;
}
