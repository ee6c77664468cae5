// One Connect call with a raw body, as a hostile client sends it (HTTP/1.1):
// unary, or server streaming with its enveloped request and response. A
// stream that sends a message has been admitted: it is cancelled there, so a
// call that would follow forever still answers.

export interface ConnectAnswer {
  readonly status: number;
  /** The Connect error code; undefined when the call succeeded (or the stream sent a message). */
  readonly code: string | undefined;
  readonly message: string;
  readonly text: string;
}

export interface ConnectCallOptions {
  readonly codec: "json" | "proto";
  readonly streaming: boolean;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Enveloped (streaming) requests: a flags byte, a big-endian length, the message. */
function envelope(body: string | Uint8Array): Uint8Array {
  const payload = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const framed = new Uint8Array(5 + payload.length);
  new DataView(framed.buffer).setUint32(1, payload.length);
  framed.set(payload, 5);
  return framed;
}

function errorOf(status: number, text: string): ConnectAnswer {
  try {
    const error = JSON.parse(text) as { code?: string; message?: string; error?: { code?: string; message?: string } };
    const e = error.error ?? error;
    return { status, code: e.code, message: e.message ?? "", text };
  } catch {
    return { status, code: undefined, message: text, text };
  }
}

export async function connectCall(url: string, body: string | Uint8Array, options: ConnectCallOptions): Promise<ConnectAnswer> {
  const contentType = options.streaming ? `application/connect+${options.codec}` : `application/${options.codec}`;
  const abort = new AbortController();
  const send = () =>
    fetch(url, {
      method: "POST",
      body: options.streaming ? envelope(body) : body,
      headers: { ...options.headers, "content-type": contentType },
      signal: abort.signal,
    });
  // A stream refused for its oversized request is answered before its body is
  // read, and the server then closes that connection; the pool may already
  // have given it to this call. Once, on a fresh connection: a server that
  // really resets calls still fails.
  const res = await send().catch((error: unknown) => {
    if ((error as { cause?: { code?: string } }).cause?.code !== "ECONNRESET") throw error;
    return send();
  });
  if (!options.streaming || !res.ok || res.body === null) {
    const text = await res.text();
    return res.ok ? { status: res.status, code: undefined, message: "", text } : errorOf(res.status, text);
  }
  return readStream(res.status, res.body, abort);
}

/** The stream's end message (its error, if any), or success at its first message. */
async function readStream(status: number, body: ReadableStream<Uint8Array>, abort: AbortController): Promise<ConnectAnswer> {
  const reader = body.getReader();
  let buffered = new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { status, code: "unknown", message: "stream ended without its end message", text: "" };
    buffered = Uint8Array.from([...buffered, ...value]);
    while (buffered.length >= 5) {
      const length = new DataView(buffered.buffer, buffered.byteOffset).getUint32(1);
      if (buffered.length < 5 + length) break;
      const [flags] = buffered;
      const frame = new TextDecoder().decode(buffered.subarray(5, 5 + length));
      if ((flags! & 0x02) !== 0) return errorOf(status, frame);
      abort.abort();
      return { status, code: undefined, message: "", text: "" };
    }
  }
}
