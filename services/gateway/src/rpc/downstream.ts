// What the gateway's caller may learn of a downstream service's failure.
import type { DescService } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { DomainError, type DomainErrorKind } from "@kuku/platform/errors";

// Downstream codes that describe the caller's request, passed on with their
// message; anything else means a dependency is down or broken, which the
// caller only learns as UNAVAILABLE or INTERNAL, never with its internals.
const PASSED_ON: ReadonlyMap<Code, DomainErrorKind> = new Map([
  [Code.InvalidArgument, "invalid_argument"],
  [Code.FailedPrecondition, "failed_precondition"],
  [Code.AlreadyExists, "already_exists"],
  [Code.NotFound, "not_found"],
  [Code.ResourceExhausted, "resource_exhausted"],
  [Code.Aborted, "aborted"],
]);

function downstreamFailure(service: string, error: unknown): unknown {
  if (!(error instanceof ConnectError)) return error;
  const kind = PASSED_ON.get(error.code);
  if (kind !== undefined) return new DomainError(kind, error.rawMessage);
  // No domain kind says "out of range": passed on as the code it is.
  if (error.code === Code.OutOfRange) return new ConnectError(error.rawMessage, error.code);
  const unavailable = `${service} service unavailable, try again`;
  if (error.code === Code.Unavailable || error.code === Code.DeadlineExceeded)
    return new DomainError("unavailable", unavailable, {}, { cause: error });
  if (error.code === Code.Canceled) return new ConnectError(unavailable, Code.Canceled, undefined, undefined, error);
  return new ConnectError(`${service} service failed`, Code.Internal, undefined, undefined, error);
}

/**
 * The client with its unary calls' failures turned into domain errors (or
 * the gateway's own answer), so app/ never reads a transport code. A wrapper,
 * not a client interceptor: the transport turns whatever an interceptor
 * throws back into a ConnectError.
 */
export function withDownstreamErrors<T extends DescService>(desc: T, service: string, client: Client<T>): Client<T> {
  const wrapped: Record<string, unknown> = { ...client };
  for (const method of desc.methods) {
    if (method.methodKind !== "unary") continue;
    const call = client[method.localName as keyof Client<T>] as (...args: unknown[]) => Promise<unknown>;
    wrapped[method.localName] = (...args: unknown[]) =>
      call(...args).catch((error: unknown) => {
        throw downstreamFailure(service, error);
      });
  }
  return wrapped as Client<T>;
}
