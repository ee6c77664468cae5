// How failed calls to the ledger and the exchange read in the order's terms:
// the one place in the order service that looks at their transport codes.
import { Code, ConnectError } from "@connectrpc/connect";
import { neverSent } from "@kuku/platform";
import type { CallFailures } from "../app/intake.js";

/** What the ledger answers a request it will answer the same way every time. */
const REFUSALS: ReadonlySet<Code> = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.OutOfRange,
  Code.PermissionDenied,
]);

export const downstreamFailures: CallFailures = {
  isRefusal: (code) => REFUSALS.has(code),
  holdRefusal: (code, message) => (code === Code.FailedPrecondition ? message : undefined),
  itemError: (code, message) => new ConnectError(message, code in Code ? (code as Code) : Code.Unknown),
  refusal: (error) => (error instanceof ConnectError && error.code === Code.FailedPrecondition ? error.rawMessage : undefined),
  inDoubt: (error) =>
    neverSent(error)
      ? `not sent by this attempt: ${(error as ConnectError).rawMessage}`
      : error instanceof ConnectError
        ? `exchange did not answer: ${error.code === Code.DeadlineExceeded ? "timeout" : Code[error.code]}`
        : "exchange call failed",
};
