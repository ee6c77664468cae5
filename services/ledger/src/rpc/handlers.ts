import { Code, ConnectError } from "@connectrpc/connect";
import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { LockNotAcquiredError, type ServiceRegistration, serviceOf } from "@kuku/platform";
import { type Ledger, LedgerFailure, LockLostError } from "../app/ledger.js";
import type { Failure } from "../domain/outcomes.js";
import { RetriesExhaustedError } from "../store/transactions.js";

/** One fixed gRPC status per expected failure. */
export function failureToError(failure: Failure): ConnectError {
  switch (failure.kind) {
    case "invalid":
      return new ConnectError(`${failure.field}: ${failure.reason}`, Code.InvalidArgument);
    case "not_found":
      return new ConnectError(`${failure.field}: ${failure.id} not found`, Code.NotFound);
    case "insufficient_funds":
      return new ConnectError(
        `insufficient funds in account ${failure.accountId}: requested ${failure.requestedMinor} ${failure.asset}, ` +
          `available ${failure.availableMinor}, shortfall ${failure.shortfallMinor}`,
        Code.FailedPrecondition,
        { "kuku-shortfall-minor": failure.shortfallMinor.toString(), "kuku-asset": failure.asset },
      );
    case "hold_exhausted":
      return new ConnectError(
        `hold ${failure.holdId} has ${failure.remainingMinor} remaining, ${failure.requestedMinor} requested`,
        Code.FailedPrecondition,
      );
    case "request_conflict":
      return new ConnectError(
        `request_id: ${failure.requestId} was already used for a different ${failure.operation} payload`,
        Code.AlreadyExists,
      );
  }
}

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof LedgerFailure) throw failureToError(error.failure);
    // Nothing was written: the caller may send the same request id again.
    if (error instanceof RetriesExhaustedError || error instanceof LockNotAcquiredError || error instanceof LockLostError) {
      throw new ConnectError(error.message, Code.Aborted);
    }
    throw error;
  }
}

export function ledgerHandlers(ledger: Ledger, options: { pageSizeDefault: number }): ServiceRegistration {
  return serviceOf(LedgerService, {
    openAccount: (req) => mapped(() => ledger.openAccount(req)),
    getSystemAccount: (req) => mapped(() => ledger.getSystemAccount(req)),
    deposit: (req) => mapped(() => ledger.deposit(req)),
    withdraw: (req) => mapped(() => ledger.withdraw(req)),
    transfer: (req) => mapped(() => ledger.transfer(req)),
    placeHold: (req) => mapped(() => ledger.placeHold(req)),
    releaseHold: (req) => mapped(() => ledger.releaseHold(req)),
    settleHold: (req) => mapped(() => ledger.settleHold(req)),
    getBalances: (req) => mapped(() => ledger.getBalances(req)),
    getHold: (req) => mapped(() => ledger.getHold(req)),
    listEntries: (req) => mapped(() => ledger.listEntries(req, options.pageSizeDefault)),
    verifyIntegrity: () => mapped(() => ledger.verifyIntegrity()),
  });
}
