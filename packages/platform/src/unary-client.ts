// The service client's unary calls straight on @grpc/grpc-js (ADR 0002, run G
// of docs/benchmarks/rpc.md). Connect's client machinery — a Headers, context
// values, an AbortController and a deadline timer per call, a promise per
// interceptor — cost the platform's client about 1.5x a bare grpc-js Client's
// CPU per call. Here a call is one plain object handed down a chain of steps
// composed once per client; the deadline is grpc-js' own (grpc-timeout on the
// wire, its timer in its call), the caller's signal gets a listener only when
// there is one. The steps run the same functions as the Connect interceptors
// (resilience.ts, interceptors.ts, identity.ts, fault-injection.ts), and a
// failure reaches the caller as the ConnectError a Connect client throws.
import { create, type DescMessage, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { type CallOptions, Code, ConnectError } from "@connectrpc/connect";
import { type ChannelInterface, Metadata, status } from "@grpc/grpc-js";
import { type Context, propagation, type TextMapSetter } from "@opentelemetry/api";
import { type FaultRule, faultChooser, suffer } from "./fault-injection.js";
import { errorFromStatus, headersToMetadata, metadataToRecord } from "./grpc-js-status.js";
import { codecOf, deadlineSignal, pathOf } from "./grpc-js-transport.js";
import { identityAuthorization, type ServiceIdentity } from "./identity.js";
import { clientCallObserver } from "./interceptors.js";
import type { Resilience } from "./resilience.js";

/** The response's metadata, kept only when the caller asked for it (onHeader, onTrailer). */
interface Received {
  header?: Metadata;
  trailer?: Metadata;
}

export interface UnaryCall {
  readonly method: DescMethodUnary;
  readonly message: MessageShape<DescMessage>;
  /** What goes out as the request's headers; the steps add theirs (trace context, authorization). */
  readonly metadata: Metadata;
  /** Absolute (Date.now() scale); Infinity: none. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  readonly received: Received | undefined;
}

type Message = MessageShape<DescMessage>;
export type UnaryStep = (call: UnaryCall) => Promise<Message>;
type Wrap = (next: UnaryStep) => UnaryStep;

const metadataSetter: TextMapSetter<Metadata> = { set: (metadata, key, value) => metadata.set(key, value) };

/** The platform's client concerns, outermost first: the policies (each attempt observed), then the trace and metrics, identity, the drill's faults. */
export interface UnaryConcerns {
  readonly resilience?: Resilience;
  readonly identity?: ServiceIdentity;
  readonly faults?: readonly FaultRule[] | (() => readonly FaultRule[]);
}

function steps(concerns: UnaryConcerns): Wrap[] {
  const { resilience, identity, faults } = concerns;
  const observe = clientCallObserver();
  const wraps: Wrap[] = [];
  if (resilience !== undefined) {
    wraps.push((next) => (call) => resilience.run(call.method, call.message, call.signal!, (signal) => next({ ...call, signal })));
  }
  wraps.push(
    (next) => (call) =>
      observe(
        call.method,
        (ctx: Context) => propagation.inject(ctx, call.metadata, metadataSetter),
        () => next(call),
      ),
  );
  if (identity !== undefined) {
    const authorize = identityAuthorization(identity);
    wraps.push(
      (next) => (call) =>
        authorize(
          call.method,
          (value) => call.metadata.set("authorization", value),
          () => next(call),
        ),
    );
  }
  if (faults !== undefined) {
    const choose = faultChooser(faults);
    wraps.push((next) => (call) => {
      const fault = choose(call.method);
      return fault === undefined ? next(call) : suffer(fault, call.signal, call.deadline).then(() => next(call));
    });
  }
  return wraps;
}

type WireCall = ReturnType<ChannelInterface["createCall"]>;

/**
 * One attempt on the wire: a call on the grpc-js channel itself, as grpc-js'
 * own Client#makeUnaryRequest makes it minus what a promise does not need
 * (an EventEmitter per call, an Error captured for its stack, two layers of
 * intercepting calls); cancelled when the call's signal aborts.
 */
function send(channel: ChannelInterface, call: UnaryCall): Promise<Message> {
  const { signal, received } = call;
  if (signal?.aborted) return Promise.reject(ConnectError.from(signal.reason, Code.Canceled));
  const { serialize, deserialize } = codecOf(call.method);
  return new Promise((resolve, reject) => {
    const wire: WireCall = channel.createCall(pathOf(call.method), call.deadline, undefined, null, undefined);
    const cancel = () => wire.cancelWithStatus(status.CANCELLED, "Cancelled on client");
    let response: Buffer | undefined;
    wire.start(call.metadata, {
      onReceiveMetadata: (metadata) => {
        if (received !== undefined) received.header = metadata;
      },
      onReceiveMessage: (bytes: Buffer) => {
        if (response === undefined) response = bytes;
        else wire.cancelWithStatus(status.UNIMPLEMENTED, "Too many responses received");
      },
      onReceiveStatus: (end) => {
        signal?.removeEventListener("abort", cancel);
        if (received !== undefined) received.trailer = end.metadata;
        if (end.code !== status.OK) reject(errorFromStatus(end));
        else if (response === undefined) reject(errorFromStatus({ ...end, code: status.UNIMPLEMENTED, details: "No message received" }));
        else settle(resolve, reject, () => deserialize(response!));
      },
    });
    wire.startRead();
    signal?.addEventListener("abort", cancel, { once: true });
    let bytes: Buffer;
    try {
      bytes = serialize(call.message);
    } catch (error) {
      wire.cancelWithStatus(status.INTERNAL, `Request message serialization failure: ${(error as Error).message}`);
      return;
    }
    wire.sendMessageWithContext({}, bytes);
    wire.halfClose();
  });
}

function settle<T>(resolve: (value: T) => void, reject: (error: unknown) => void, make: () => T): void {
  try {
    resolve(make());
  } catch (error) {
    reject(new ConnectError(`Response message parsing error: ${(error as Error).message}`, Code.Internal));
  }
}

/** A Client<T>'s unary method, its message types left to the Client<T> it is part of. */
export type UnaryMethod = (request: MessageInitShape<DescMessage>, options?: CallOptions) => Promise<Message>;

/**
 * The unary methods of one client: the concerns' steps composed once (one token cache, one set of metric
 * series for all its methods), then per call one object handed down them.
 */
export function unaryMethods(
  channel: ChannelInterface,
  concerns: UnaryConcerns & { readonly timeoutMs: number },
): (method: DescMethodUnary) => UnaryMethod {
  const chain = steps(concerns).reduceRight<UnaryStep>(
    (next, wrap) => wrap(next),
    (call) => send(channel, call),
  );
  const signalled = concerns.resilience !== undefined;
  return (method) => (request, options) => {
    const timeoutMs = options?.timeoutMs ?? concerns.timeoutMs;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY;
    // Under the policies the caller's signal and the deadline are one signal: the bulkhead's queue, the backoff
    // between retries and the attempt timeout all stop at it (as with Connect's client). Without them the
    // deadline is grpc-js' alone and the caller's signal is used as it is.
    const own = signalled ? deadlineSignal(options?.signal, timeoutMs > 0 ? timeoutMs : undefined) : undefined;
    const signal = own?.signal ?? options?.signal;
    const received: Received | undefined = options?.onHeader === undefined && options?.onTrailer === undefined ? undefined : {};
    const call: UnaryCall = {
      method,
      message: create(method.input, request),
      metadata: options?.headers === undefined ? new Metadata() : headersToMetadata(new Headers(options.headers)),
      deadline,
      signal,
      received,
    };
    return chain(call).then(
      (message) => {
        own?.end();
        if (received !== undefined) {
          options?.onHeader?.(new Headers(received.header === undefined ? undefined : metadataToRecord(received.header)));
          options?.onTrailer?.(new Headers(received.trailer === undefined ? undefined : metadataToRecord(received.trailer)));
        }
        return message;
      },
      (error: unknown) => {
        own?.end();
        // As Connect's client: a call its signal ended fails with the signal's reason (the deadline, the caller's abort).
        throw signal?.aborted ? ConnectError.from(signal.reason, Code.Canceled) : ConnectError.from(error);
      },
    );
  };
}
