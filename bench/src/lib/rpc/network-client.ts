// A client of `kuku-bench rpc network`, in a process of its own (forked by
// the command): gRPC unary calls over node:http2 directly, so that each
// network setting is in the benchmark's hands and nothing else changes —
// TCP_NODELAY on its sockets, one connection per call or long-lived
// connections, how many connections the calls in flight share (streams per
// connection) and HTTP/2 PING keep-alives. The spec comes as JSON in argv[2];
// the loop and its report are client-loop.ts's.
import http2 from "node:http2";
import net from "node:net";
import { type LoopSpec, runClientLoop } from "./client-loop.js";

export interface NetworkRun extends LoopSpec {
  readonly port: number;
  /** The gRPC method's path, e.g. /kuku.ledger.v1.LedgerService/GetBalances. */
  readonly path: string;
  /** The length-prefixed request message, base64. */
  readonly body: string;
  readonly authorization: string;
  readonly noDelay: boolean;
  /** Long-lived connections the calls in flight are spread over; 0 = a new connection per call. */
  readonly connections: number;
  /** HTTP/2 PING on every connection at this interval; 0 = none. */
  readonly pingMs: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as NetworkRun;
const body = Buffer.from(spec.body, "base64");

function connect(): http2.ClientHttp2Session {
  let socket!: net.Socket;
  const session = http2.connect(`http://127.0.0.1:${spec.port}`, {
    createConnection: () => (socket = net.connect({ host: "127.0.0.1", port: spec.port })),
  });
  // node:http2 turns TCP_NODELAY on for every session's socket once connected (strace shows it): only after that can it be
  // turned off, and only on the socket itself (the session's proxy refuses).
  session.once("connect", () => socket.setNoDelay(spec.noDelay));
  session.on("error", () => {}); // a failed call reports it
  if (spec.pingMs > 0) {
    const timer = setInterval(() => session.ping(() => {}), spec.pingMs);
    session.once("close", () => clearInterval(timer));
  }
  return session;
}

/** One unary call; rejects unless the status is OK (in the trailers, or trailers-only headers). */
function call(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = session.request({
      ":method": "POST",
      ":path": spec.path,
      "content-type": "application/grpc",
      te: "trailers",
      authorization: spec.authorization,
    });
    let status: string | undefined;
    let message = "";
    const note = (headers: http2.IncomingHttpHeaders) => {
      if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
      if (headers["grpc-message"] !== undefined) message = String(headers["grpc-message"]);
    };
    request.on("response", note);
    request.on("trailers", note);
    request.on("data", () => {});
    request.on("error", reject);
    request.on("end", () => (status === "0" ? resolve() : reject(new Error(`grpc-status ${status}: ${message}`))));
    request.end(body);
  });
}

const sessions = Array.from({ length: spec.connections }, connect);
let next = 0;
const perCall = async () => {
  const session = connect();
  try {
    await call(session);
  } finally {
    session.close();
  }
};
await runClientLoop(spec, spec.connections === 0 ? perCall : () => call(sessions[next++ % sessions.length]!));
