import { Code, ConnectError } from "@connectrpc/connect";

/**
 * What went wrong, in the domain's words. Services throw (or return) these
 * without a transport code; the platform's server interceptor is the one
 * place that turns a kind into a gRPC status.
 */
export type DomainErrorKind =
  /** Bad input: the message names the field. */
  | "invalid_argument"
  | "not_found"
  /** An idempotency key or request id reused for another payload. */
  | "already_exists"
  /** The state forbids it: insufficient funds, an order that cannot be cancelled. */
  | "failed_precondition"
  | "unauthenticated"
  | "permission_denied"
  /** Over a limit (rate, concurrency): try again later. */
  | "resource_exhausted"
  /** Nothing was written: the same request may be sent again at once. */
  | "aborted"
  /** A dependency is down: retry later. */
  | "unavailable"
  /** No answer in time: the outcome is unknown. */
  | "deadline_exceeded";

const CODE_OF: Readonly<Record<DomainErrorKind, Code>> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  resource_exhausted: Code.ResourceExhausted,
  aborted: Code.Aborted,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
};

export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    /** Sent to the caller as response trailers (e.g. the shortfall of a refused hold). */
    readonly metadata: Readonly<Record<string, string>> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** INVALID_ARGUMENT naming the field, as protovalidate's messages do. */
export const invalidArgument = (field: string, reason: string): DomainError => new DomainError("invalid_argument", `${field}: ${reason}`);

export const notFound = (field: string, id: string): DomainError => new DomainError("not_found", `${field}: ${id} not found`);

export const failedPrecondition = (message: string, metadata?: Readonly<Record<string, string>>): DomainError =>
  new DomainError("failed_precondition", message, metadata);

/**
 * The status a caller sees: a DomainError by its kind, a ConnectError as it
 * is (e.g. one a downstream service answered), anything else `undefined`:
 * a bug, which the caller sees as INTERNAL without its message.
 */
export function toConnectError(error: unknown): ConnectError | undefined {
  if (error instanceof ConnectError) return error;
  if (error instanceof DomainError) return new ConnectError(error.message, CODE_OF[error.kind], error.metadata, undefined, error);
  return undefined;
}

/** The gRPC code a DomainErrorKind maps to, for clients that compare. */
export const codeOf = (kind: DomainErrorKind): Code => CODE_OF[kind];
