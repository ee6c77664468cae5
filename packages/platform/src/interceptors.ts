import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { createValidator, violationsToProto, type Violation } from "@bufbuild/protovalidate";
import type { Logger } from "pino";

const validator = createValidator();

function rejectInvalid(schema: DescMessage, violations: Violation[]): ConnectError {
  const [details, detailsSchema] = violationsToProto(violations);
  const summary = violations.map((v) => v.toString()).join("; ");
  return new ConnectError(`invalid ${schema.name}: ${summary}`, Code.InvalidArgument, undefined, [
    { desc: detailsSchema, value: details },
  ]);
}

function check(schema: DescMessage, message: MessageShape<DescMessage>): void {
  const result = validator.validate(schema, message);
  if (result.kind === "invalid") throw rejectInvalid(schema, result.violations);
  // A rule that cannot be evaluated is our bug, not the caller's.
  if (result.kind === "error") throw result.error;
}

async function* checkEach(schema: DescMessage, messages: AsyncIterable<MessageShape<DescMessage>>) {
  for await (const message of messages) {
    check(schema, message);
    yield message;
  }
}

/**
 * Enforces the protovalidate rules declared in the protos on every request
 * message, before any handler runs: a bad request gets INVALID_ARGUMENT
 * naming each field, with buf.validate.Violations attached as details.
 */
export function validationInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (req.stream) {
      return next({ ...req, message: checkEach(req.method.input, req.message) });
    }
    check(req.method.input, req.message);
    return next(req);
  };
}

/**
 * Expected failures are ConnectErrors and pass through; anything else is a
 * bug: it is logged with its cause and the caller sees INTERNAL without
 * internals.
 */
export function unexpectedErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      logger.error({ err: error, procedure: req.url }, "unexpected error in handler");
      throw new ConnectError("internal error", Code.Internal);
    }
  };
}
