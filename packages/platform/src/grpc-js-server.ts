// gRPC over HTTP/2 served by @grpc/grpc-js, running the services' Connect
// implementations through the same Connect interceptors. grpc-js does the
// HTTP/2 framing and flow control (several times cheaper per call than
// connect-node's universal handler stack, see ADR 0002); Connect still does
// everything above the wire: the handler context, the interceptor chain,
// normalised output, the error model. Handlers are derived from the
// protobuf-es descriptors: no second code generator, no second message type.
import type { Duplex } from "node:stream";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createHandlerContext,
  createMethodImplSpec,
  createServiceImplSpec,
  type Interceptor,
  type MethodImplSpec,
} from "@connectrpc/connect";
import { invokeUnaryImplementation, transformInvokeImplementation } from "@connectrpc/connect/protocol";
import {
  type handleBidiStreamingCall,
  type handleUnaryCall,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
} from "@grpc/grpc-js";
import { headersToMetadata, isEmpty, metadataToRecord, serializerOf, statusFromError } from "./grpc-js-status.js";
import type { ServiceRegistration } from "./registration.js";
import type { CallOrigin } from "./server.js";

export interface GrpcJsServerOptions {
  readonly registrations: readonly ServiceRegistration[];
  readonly interceptors: readonly Interceptor[];
  readonly maxTimeoutMs: number;
  readonly readMaxBytes: number;
  /** Aborts every handler's signal: the end of a drain that timed out. */
  readonly shutdownSignal: AbortSignal;
  /** Called as a call starts; the returned function as it ends (the server's in-flight count). */
  readonly track: () => () => void;
  /** The call's context values from its metadata and peer, as the Connect path takes them from its request. */
  readonly contextValues?: ((origin: CallOrigin) => ContextValues) | undefined;
}

export interface GrpcJsServer {
  /** Serves an HTTP/2 connection whose first bytes were already read and unshifted. */
  inject(connection: Duplex): void;
  /** GOAWAY to every connection: running calls finish, new ones go elsewhere; each connection closes after its last call. */
  drain(): void;
  /** Cuts the calls still running. */
  close(): void;
}

// The reason a finished call's context is aborted with (its deadline timer and signal
// listeners released): one shared object, where abort() without a reason would build
// a DOMException and its stack on every call.
const CALL_ENDED = new ConnectError("the call ended", Code.Canceled);

/** A request body that is not protobuf: the caller's fault, answered before any interceptor (as on the Connect path). */
class Malformed {
  constructor(readonly error: unknown) {}
}

export function startGrpcJsServer(options: GrpcJsServerOptions): GrpcJsServer {
  const server = new Server({
    "grpc.max_receive_message_length": options.readMaxBytes,
    // Connections come from our own TCP listener; channelz bookkeeping per call is cost without a reader.
    "grpc.enable_channelz": 0,
  });
  for (const spec of implSpecs(options.registrations)) {
    const path = `/${spec.method.parent.typeName}/${spec.method.name}`;
    const serialize = serializerOf(spec.method.output);
    const deserialize = (bytes: Buffer): Request => {
      try {
        return fromBinary(spec.method.input, bytes);
      } catch (error) {
        return new Malformed(error);
      }
    };
    if (spec.kind === "unary") server.register(path, unaryHandler(spec, options), serialize, deserialize, "unary");
    // Every streaming kind as bidi: the wire is the same, and Connect's invoker enforces the method's kind.
    else server.register(path, streamHandler(spec, options), serialize, deserialize, "bidi");
  }
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  return {
    inject: (connection) => injector.injectConnection(connection),
    drain: () => server.tryShutdown(() => {}),
    close: () => server.forceShutdown(),
  };
}

/** The method implementations a registration hands its router, collected by a router of our own. */
function implSpecs(registrations: readonly ServiceRegistration[]): MethodImplSpec[] {
  const specs: MethodImplSpec[] = [];
  const collector = {
    handlers: [],
    service(desc, impl) {
      specs.push(...Object.values(createServiceImplSpec(desc, impl).methods));
      return collector;
    },
    rpc(method, impl) {
      specs.push(createMethodImplSpec(method, impl) as MethodImplSpec);
      return collector;
    },
  } satisfies ConnectRouter as ConnectRouter;
  for (const registration of registrations) registration.register(collector);
  return specs;
}

type Message = MessageShape<DescMessage>;
type Request = Message | Malformed;
type AnyCall = ServerUnaryCall<Request, Message> | ServerDuplexStream<Request, Message>;
/** Connect's handler context, with the abort its own handlers call when a call ends, and ours to call then. */
type CallContext = ReturnType<typeof createHandlerContext> & { end(reason?: unknown): void };

/** Connect's handler context for a grpc-js call: headers, deadline, cancellation, the server's shutdown. */
function contextOf(spec: MethodImplSpec, call: AnyCall, options: GrpcJsServerOptions): CallContext | ConnectError {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  const timeoutMs = Number.isFinite(ms) ? Math.max(0, ms - Date.now()) : undefined;
  if (timeoutMs !== undefined && timeoutMs > options.maxTimeoutMs) {
    // Connect's own words for it (parseTimeout).
    return new ConnectError(`timeout ${timeoutMs}ms must be <= ${options.maxTimeoutMs}`, Code.InvalidArgument);
  }
  const requestHeader = metadataToRecord(call.metadata);
  const context = createHandlerContext({
    service: spec.method.parent,
    method: spec.method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: call.getPath(),
    timeoutMs,
    shutdownSignal: options.shutdownSignal,
    requestHeader,
    contextValues: options.contextValues?.({ headers: requestHeader, remoteAddress: peerAddress(call.getPeer()) }),
  });
  // grpc-js reports every stream's close as "cancelled", finished calls' too: listen only while the call runs.
  const onCancelled = () => context.abort(new ConnectError("the caller cancelled the call", Code.Canceled));
  const events = call as ServerUnaryCall<Request, Message>;
  events.once("cancelled", onCancelled);
  return Object.assign(context, {
    end(reason: unknown = CALL_ENDED) {
      events.off("cancelled", onCancelled);
      context.abort(reason);
    },
  });
}

/**
 * The peer's address without its port: grpc-js gives the connection's socket as
 * "address:port" (the last colon is the port's, IPv6 addresses included), the
 * same socket whose remoteAddress the Connect path reads.
 */
export function peerAddress(peer: string): string | undefined {
  if (peer === "unknown") return undefined;
  const colon = peer.lastIndexOf(":");
  return colon > 0 && /^\d+$/.test(peer.slice(colon + 1)) ? peer.slice(0, colon) : peer;
}

function asConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof Malformed) {
    const reason = error.error instanceof Error ? error.error.message : String(error.error);
    return new ConnectError(`malformed request message: parse binary: ${reason}`, Code.InvalidArgument);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, error);
}

function sendHeader(call: AnyCall, context: CallContext): void {
  if (!isEmpty(context.responseHeader)) call.sendMetadata(headersToMetadata(context.responseHeader));
}

function unaryHandler(spec: MethodImplSpec & { kind: "unary" }, options: GrpcJsServerOptions): handleUnaryCall<Request, Message> {
  const { interceptors } = options;
  return (call, callback) => {
    const context = contextOf(spec, call, options);
    if (context instanceof ConnectError || call.request instanceof Malformed) {
      callback(statusFromError(asConnectError(context instanceof ConnectError ? context : call.request), new Headers()));
      return;
    }
    const done = options.track();
    invokeUnaryImplementation(spec, context, call.request, interceptors as Interceptor[]).then(
      (message) => {
        sendHeader(call, context);
        const trailer = isEmpty(context.responseTrailer) ? undefined : headersToMetadata(context.responseTrailer);
        callback(null, message, trailer);
        context.end();
        done();
      },
      (error: unknown) => {
        callback(statusFromError(asConnectError(error), context.responseTrailer));
        context.end(error);
        done();
      },
    );
  };
}

function streamHandler(spec: MethodImplSpec, options: GrpcJsServerOptions): handleBidiStreamingCall<Request, Message> {
  return (call) => {
    const context = contextOf(spec, call, options);
    if (context instanceof ConnectError) {
      call.emit("error", statusFromError(context, new Headers()));
      return;
    }
    const done = options.track();
    const output = transformInvokeImplementation(spec, context, options.interceptors as Interceptor[])(requests(call));
    respond(call, context, output).finally(done);
  };
}

/** The request messages; a malformed one fails the stream as INVALID_ARGUMENT. */
async function* requests(call: ServerDuplexStream<Request, Message>): AsyncIterable<Message> {
  // Not destroyed when the reader stops early: the response side of the same stream may still be writing.
  for await (const message of call.iterator({ destroyOnReturn: false })) {
    if (message instanceof Malformed) throw asConnectError(message);
    yield message as Message;
  }
}

async function respond(call: ServerDuplexStream<Request, Message>, context: CallContext, output: AsyncIterable<Message>) {
  let headerSent = false;
  try {
    for await (const message of output) {
      if (!headerSent) sendHeader(call, context);
      headerSent = true;
      if (!call.write(message)) await waitForDrain(call, context.signal);
    }
    if (!headerSent) sendHeader(call, context);
    call.end(isEmpty(context.responseTrailer) ? undefined : headersToMetadata(context.responseTrailer));
    context.end();
  } catch (error) {
    if (!call.cancelled) call.emit("error", statusFromError(asConnectError(error), context.responseTrailer));
    context.end(error);
  }
}

function waitForDrain(call: ServerDuplexStream<Request, Message>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      call.off("drain", onDrain);
      reject(signal.reason);
    };
    const onDrain = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    call.once("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
