import { Code, ConnectError } from "@connectrpc/connect";

// Downstream codes that describe the caller's request and may be passed on
// as they are; anything else means a dependency is down or broken, which the
// caller only learns as UNAVAILABLE or INTERNAL, never with its internals.
const PASSED_ON = new Set([
  Code.InvalidArgument,
  Code.FailedPrecondition,
  Code.AlreadyExists,
  Code.OutOfRange,
  Code.ResourceExhausted,
  Code.Aborted,
]);

export async function downstream<T>(service: string, call: () => Promise<T>, mapNotFound?: () => ConnectError): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    if (error.code === Code.NotFound && mapNotFound !== undefined) throw mapNotFound();
    if (PASSED_ON.has(error.code) || error.code === Code.NotFound) throw new ConnectError(error.rawMessage, error.code);
    if (error.code === Code.Unavailable || error.code === Code.DeadlineExceeded || error.code === Code.Canceled) {
      throw new ConnectError(
        `${service} service unavailable, try again`,
        error.code === Code.Canceled ? Code.Canceled : Code.Unavailable,
        undefined,
        undefined,
        error,
      );
    }
    throw new ConnectError(`${service} service failed`, Code.Internal, undefined, undefined, error);
  }
}
