// connect-es answers a request body that is not valid protobuf with INTERNAL
// ("parse binary: ..."), as gRPC's own servers do. For us a caller's bad
// bytes are the caller's fault: INVALID_ARGUMENT, like malformed JSON. The
// parse happens before any interceptor sees the call, so the status is
// rewritten on the way out, in the form each protocol carries it.
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { createAsyncIterable, readAllBytes } from "@connectrpc/connect/protocol";

const PARSE_PREFIX = "parse binary:";
const GRPC_INTERNAL = String(Code.Internal);
const GRPC_INVALID_ARGUMENT = String(Code.InvalidArgument);
const GRPC_WEB_TRAILER_FLAG = 0x80;

export function malformedMessageIsInvalidArgument(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    const contentType = res.header?.get("content-type") ?? "";
    if (res.status === 500 && contentType.startsWith("application/json")) return rewriteConnectUnary(res);
    if (res.body === undefined || !(Symbol.asyncIterator in Object(res.body))) return res;
    if (contentType.startsWith("application/grpc-web"))
      return { ...res, body: rewriteGrpcWebTrailer(res.body as AsyncIterable<Uint8Array>) };
    if (contentType.startsWith("application/grpc") && res.trailer !== undefined) {
      return { ...res, body: rewriteGrpcTrailer(res.body as AsyncIterable<Uint8Array>, res.trailer) };
    }
    return res;
  };
  return asHandlerOf(handler, wrapped);
}

/** `wrapped` with the routing facts of the handler it wraps, so the router serves it in its place. */
export function asHandlerOf(
  handler: UniversalHandler,
  wrapped: (req: Parameters<UniversalHandler>[0]) => Promise<UniversalServerResponse>,
): UniversalHandler {
  return Object.assign(wrapped, {
    method: handler.method,
    service: handler.service,
    requestPath: handler.requestPath,
    protocolNames: handler.protocolNames,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}

/**
 * A streamed request's messages are parsed as the handler reads them, inside
 * the interceptors (interceptors.ts, validation): the same rewrite, of the
 * thrown error, for every protocol at once.
 */
export function malformedAsInvalidArgument(error: unknown): unknown {
  if (!(error instanceof ConnectError) || error.code !== Code.Internal || !error.rawMessage.startsWith(PARSE_PREFIX)) return error;
  return new ConnectError(`malformed request message: ${error.rawMessage}`, Code.InvalidArgument);
}

async function rewriteConnectUnary(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const bytes = await readAllBytes(res.body as AsyncIterable<Uint8Array>, 1024 * 1024);
  const error = JSON.parse(new TextDecoder().decode(bytes)) as { code?: string; message?: string };
  if (error.code !== "internal" || error.message?.startsWith(PARSE_PREFIX) !== true) {
    return { ...res, body: createAsyncIterable([bytes]) };
  }
  const body = new TextEncoder().encode(
    JSON.stringify({ code: "invalid_argument", message: `malformed request message: ${error.message}` }),
  );
  res.header?.set("content-length", String(body.byteLength));
  return { ...res, status: 400, body: createAsyncIterable([body]) };
}

function isParseFailure(status: string | null, message: string | null): boolean {
  return status === GRPC_INTERNAL && message !== null && decodeURIComponent(message).startsWith(PARSE_PREFIX);
}

/** gRPC sends the status in HTTP/2 trailers, which are final once the body ends. */
async function* rewriteGrpcTrailer(body: AsyncIterable<Uint8Array>, trailer: Headers): AsyncIterable<Uint8Array> {
  yield* body;
  if (isParseFailure(trailer.get("grpc-status"), trailer.get("grpc-message"))) trailer.set("grpc-status", GRPC_INVALID_ARGUMENT);
}

/** gRPC-Web sends the status in a last body frame flagged 0x80, as HTTP/1-style header lines. */
async function* rewriteGrpcWebTrailer(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    if (chunk[0] !== GRPC_WEB_TRAILER_FLAG || chunk.byteLength < 5) {
      yield chunk;
      continue;
    }
    const text = new TextDecoder().decode(chunk.subarray(5));
    const fields = new Map(
      text
        .split("\r\n")
        .filter((l) => l.includes(":"))
        .map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
    if (!isParseFailure(fields.get("grpc-status") ?? null, fields.get("grpc-message") ?? null)) {
      yield chunk;
      continue;
    }
    const rewritten = new TextEncoder().encode(text.replace(/grpc-status:\s*13/i, `grpc-status: ${GRPC_INVALID_ARGUMENT}`));
    const frame = new Uint8Array(5 + rewritten.byteLength);
    frame[0] = GRPC_WEB_TRAILER_FLAG;
    new DataView(frame.buffer).setUint32(1, rewritten.byteLength);
    frame.set(rewritten, 5);
    yield frame;
  }
}
