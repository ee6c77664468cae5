// Expected failures are values; each kind becomes one DomainError (failureToError),
// thrown where the use case gives up, so that its transaction rolls back.
import { DomainError, failedPrecondition, invalidArgument, notFound } from "@kuku/platform/errors";

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

/** A hold whose remainder is all settled or released: finished, never reopened (FAILED_PRECONDITION). */
export interface HoldClosed {
  readonly kind: "hold_closed";
  readonly holdId: string;
}

export interface NotFound {
  readonly kind: "not_found";
  readonly field: string;
  readonly id: string;
}

export type Failure = Invalid | InsufficientFunds | HoldExhausted | HoldClosed | NotFound | RequestConflict;
export type Outcome<T> = { readonly kind: "ok"; readonly value: T } | Failure;

export const ok = <T>(value: T): Outcome<T> => ({ kind: "ok", value });
export const invalid = (field: string, reason: string): Invalid => ({ kind: "invalid", field, reason });

/** A request id reused for another payload: ALREADY_EXISTS. */
export interface RequestConflict {
  readonly kind: "request_conflict";
  readonly requestId: string;
  readonly operation: string;
}

/** Each failure's one error kind and message (the server maps the kind to a gRPC status). */
export function failureToError(failure: Failure): DomainError {
  switch (failure.kind) {
    case "invalid":
      return invalidArgument(failure.field, failure.reason);
    case "not_found":
      return notFound(failure.field, failure.id);
    case "insufficient_funds":
      return failedPrecondition(
        `insufficient funds in account ${failure.accountId}: requested ${failure.requestedMinor} ${failure.asset}, ` +
          `available ${failure.availableMinor}, shortfall ${failure.shortfallMinor}`,
        { "kuku-shortfall-minor": failure.shortfallMinor.toString(), "kuku-asset": failure.asset },
      );
    case "hold_exhausted":
      return failedPrecondition(`hold ${failure.holdId} has ${failure.remainingMinor} remaining, ${failure.requestedMinor} requested`);
    case "hold_closed":
      return failedPrecondition(`hold ${failure.holdId} is closed: everything it held was settled or released`);
    case "request_conflict":
      return new DomainError(
        "already_exists",
        `request_id: ${failure.requestId} was already used for a different ${failure.operation} payload`,
      );
  }
}
