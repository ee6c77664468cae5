// A Connect Transport over a @grpc/grpc-js channel, for what the service
// client (client.ts) does not send on its own unary path (unary-client.ts):
// streams, and every call of a client given Connect interceptors, which then
// run unchanged while grpc-js does the HTTP/2 part, several times cheaper per
// call than connect-node's HTTP/2 client (ADR 0002). Serialisation is
// protobuf-es on the generated descriptors. The channel per target, the
// codecs and the method paths are shared with the unary path.
import type { DescMessage, DescMethod, DescMethodStreaming, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
  type Interceptor,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createMethodUrl, runStreamingCall } from "@connectrpc/connect/protocol";
import { Client, type ClientDuplexStream, credentials, type Metadata, type StatusObject } from "@grpc/grpc-js";
import { errorFromStatus, headersToMetadata, metadataToRecord, serializerOf } from "./grpc-js-status.js";
import { oncePer } from "./once-per.js";

export interface GrpcJsTransportOptions {
  /** http://host:port (cleartext) or https://host:port (TLS). */
  readonly baseUrl: string;
  /** The deadline of a call that sets no timeoutMs of its own; <= 0 or unset: none. */
  readonly defaultTimeoutMs?: number;
  readonly interceptors?: readonly Interceptor[];
}

// One channel per target for the whole process: every client of a downstream shares its connection.
const channels = new Map<string, Client>();

export function channelFor(baseUrl: string): Client {
  const url = new URL(baseUrl);
  const tls = url.protocol === "https:";
  const target = `${url.hostname.includes(":") && !url.hostname.startsWith("[") ? `[${url.hostname}]` : url.hostname}:${url.port || (tls ? 443 : 80)}`;
  const key = `${url.protocol}//${target}`;
  let channel = channels.get(key);
  if (channel === undefined) {
    channel = new Client(target, tls ? credentials.createSsl() : credentials.createInsecure(), {
      "grpc.enable_channelz": 0,
      // A downstream restarted by a deploy or a drill is dialled again quickly, not after grpc-js' default 1-120 s backoff.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 2_000,
    });
    channels.set(key, channel);
  }
  return channel;
}

export interface Codec {
  readonly serialize: (message: MessageShape<DescMessage>) => Buffer;
  readonly deserialize: (bytes: Buffer) => MessageShape<DescMessage>;
}
export const codecOf = oncePer(
  (method: DescMethod): Codec => ({ serialize: serializerOf(method.input), deserialize: (bytes) => fromBinary(method.output, bytes) }),
);

type UnaryFn = (req: UnaryRequest) => Promise<UnaryResponse>;

// The call's absolute deadline, for the wire: it rides along the request through the interceptors.
const DEADLINE = createContextKey(Number.POSITIVE_INFINITY, { description: "grpc-js deadline" });
/** What a call that ran out of time fails with, as Connect's own client says it. */
export const deadlineExceeded = () => new ConnectError("the operation timed out", Code.DeadlineExceeded);

// What a finished call's signal is aborted with: one shared object, where abort() without a
// reason builds a DOMException and its stack on every call.
const CALL_ENDED = new ConnectError("the call ended", Code.Canceled);

/**
 * Connect's runUnaryCall, minus its per-call costs (measured, ADR 0002): the
 * interceptor chain is composed once per transport instead of per call, one
 * AbortController instead of two, and a finished call's signal is aborted
 * with a shared reason. The semantics are runUnaryCall's: the input
 * normalised, the signal aborted at the deadline or by the caller, and a
 * failure reported as the abort reason when the signal was aborted first.
 */
function runUnary(chain: UnaryFn, req: Omit<UnaryRequest, "signal">, callerSignal: AbortSignal | undefined, timeoutMs: number | undefined) {
  const { signal, end } = deadlineSignal(callerSignal, timeoutMs);
  return chain({ ...req, message: create(req.method.input, req.message), signal }).then(
    (res) => {
      end(CALL_ENDED);
      return res;
    },
    (reason: unknown) => {
      const error = signal.aborted ? ConnectError.from(signal.reason, Code.Canceled) : ConnectError.from(reason);
      end(error);
      throw error;
    },
  );
}

/**
 * A caller's signal and a deadline as one signal, aborted by whichever comes
 * first (the deadline with `deadlineExceeded`). `end` stops the timer and the
 * listener on the caller's signal, and aborts the call's signal with
 * `reason` when one is given.
 */
export function deadlineSignal(
  callerSignal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): { readonly signal: AbortSignal; end(reason?: unknown): void } {
  const controller = new AbortController();
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(deadlineExceeded()), timeoutMs);
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    end(reason?: unknown) {
      clearTimeout(timer);
      callerSignal?.removeEventListener("abort", onCallerAbort);
      if (reason !== undefined) controller.abort(reason);
    },
  };
}

const deadlineOf = (timeoutMs: number | undefined) => (timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs);

export function createGrpcJsTransport(options: GrpcJsTransportOptions): Transport {
  const channel = channelFor(options.baseUrl);
  const interceptors = options.interceptors === undefined ? undefined : [...options.interceptors];
  const unaryChain = (interceptors ?? []).reduceRight<UnaryFn>(
    (next, interceptor) => interceptor(next as Parameters<Interceptor>[0]) as UnaryFn,
    (req) => unaryCall(channel, req, req.contextValues.get(DEADLINE)),
  );
  const urlOf = oncePer((method: DescMethod) => createMethodUrl(options.baseUrl, method));
  const timeoutOf = (timeoutMs: number | undefined) => {
    const ms = timeoutMs ?? options.defaultTimeoutMs;
    return ms === undefined || ms <= 0 ? undefined : ms;
  };
  return {
    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: ConstructorParameters<typeof Headers>[0],
      message: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const timeout = timeoutOf(timeoutMs);
      const values = contextValues ?? createContextValues();
      // One deadline for the call: every retry inside it sends what is left of it (grpc-timeout).
      values.set(DEADLINE, deadlineOf(timeout));
      const req = {
        stream: false as const,
        service: method.parent,
        method,
        requestMethod: "POST",
        url: urlOf(method),
        header: new Headers(header),
        contextValues: values,
        message: message as MessageShape<I>,
      };
      return runUnary(unaryChain, req as Omit<UnaryRequest, "signal">, signal, timeout) as Promise<UnaryResponse<I, O>>;
    },
    stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: ConstructorParameters<typeof Headers>[0],
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      const timeout = timeoutOf(timeoutMs);
      const deadline = deadlineOf(timeout);
      return runStreamingCall<I, O>({
        interceptors,
        signal,
        timeoutMs: timeout,
        req: {
          stream: true,
          service: method.parent,
          method,
          requestMethod: "POST",
          url: urlOf(method),
          header: new Headers(header),
          contextValues: contextValues ?? createContextValues(),
          message: input as AsyncIterable<MessageShape<I>>,
        },
        next: async (req) => streamCall(channel, req, deadline),
      });
    },
  };
}

export const pathOf = oncePer((method: DescMethod) => `/${method.parent.typeName}/${method.name}`);

/**
 * A unary response whose header and trailer become Headers only when read:
 * most callers read the message alone, and building two Headers per call
 * was a tenth of the client's CPU per call (the rpc bench's client profile).
 */
class GrpcJsUnaryResponse<I extends DescMessage, O extends DescMessage> implements UnaryResponse<I, O> {
  readonly stream = false as const;
  readonly service: DescMethodUnary<I, O>["parent"];
  #header: Headers | Metadata | undefined;
  #trailer: Headers | Metadata;

  constructor(
    readonly method: DescMethodUnary<I, O>,
    readonly message: MessageShape<O>,
    header: Metadata | undefined,
    trailer: Metadata,
  ) {
    this.service = method.parent;
    this.#header = header;
    this.#trailer = trailer;
  }

  get header(): Headers {
    if (!(this.#header instanceof Headers))
      this.#header = new Headers(this.#header === undefined ? undefined : metadataToRecord(this.#header));
    return this.#header;
  }

  get trailer(): Headers {
    if (!(this.#trailer instanceof Headers)) this.#trailer = new Headers(metadataToRecord(this.#trailer));
    return this.#trailer;
  }
}

function unaryCall<I extends DescMessage, O extends DescMessage>(
  channel: Client,
  req: UnaryRequest<I, O>,
  deadline: number,
): Promise<UnaryResponse<I, O>> {
  const { serialize, deserialize } = codecOf(req.method);
  return new Promise((resolve, reject) => {
    let response: MessageShape<O> | undefined;
    let header: Metadata | undefined;
    const call = channel.makeUnaryRequest(
      pathOf(req.method),
      serialize,
      deserialize,
      req.message,
      headersToMetadata(req.header),
      { deadline },
      (error, message) => {
        req.signal.removeEventListener("abort", cancel);
        if (error !== null) reject(errorFromStatus(error));
        else response = message as MessageShape<O>;
      },
    );
    const cancel = () => call.cancel();
    req.signal.addEventListener("abort", cancel, { once: true });
    call.once("metadata", (metadata: Metadata) => (header = metadata));
    // grpc-js hands over the trailers right after the callback: the response is complete only then.
    call.once("status", (status: StatusObject) => {
      if (response === undefined) return;
      resolve(new GrpcJsUnaryResponse(req.method, response, header, status.metadata));
    });
  });
}

function streamCall<I extends DescMessage, O extends DescMessage>(
  channel: Client,
  req: { method: DescMethodStreaming<I, O>; header: Headers; signal: AbortSignal; message: AsyncIterable<MessageShape<I>> },
  deadline: number,
): StreamResponse<I, O> {
  const { serialize, deserialize } = codecOf(req.method);
  const call = channel.makeBidiStreamRequest(pathOf(req.method), serialize, deserialize, headersToMetadata(req.header), { deadline });
  const cancel = () => call.cancel();
  req.signal.addEventListener("abort", cancel, { once: true });
  const header = new Headers();
  const trailer = new Headers();
  call.once("metadata", (metadata: Metadata) => {
    for (const [key, value] of Object.entries(metadataToRecord(metadata))) header.set(key, value);
  });
  const status = new Promise<StatusObject>((resolve) => call.once("status", resolve));
  call.on("error", () => {}); // the status says it all; read below
  void send(call, req.message);
  async function* responses(): AsyncIterable<MessageShape<O>> {
    try {
      for await (const message of call) yield message as MessageShape<O>;
    } catch {
      // the status below says why
    }
    const { code, details, metadata } = await status;
    req.signal.removeEventListener("abort", cancel);
    for (const [key, value] of Object.entries(metadataToRecord(metadata))) trailer.set(key, value);
    if (code !== 0) throw errorFromStatus({ code, details, metadata });
  }
  return { stream: true, service: req.method.parent, method: req.method, header, message: responses(), trailer };
}

async function send<I>(call: ClientDuplexStream<I, unknown>, messages: AsyncIterable<I>): Promise<void> {
  try {
    for await (const message of messages) {
      if (!call.write(message)) await new Promise((resolve) => call.once("drain", resolve));
    }
    call.end();
  } catch {
    call.cancel(); // the caller's request stream failed: so does the call
  }
}
