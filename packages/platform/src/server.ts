import { once } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import net from "node:net";
import type { Duplex } from "node:stream";
import { Code, ConnectError, type ContextValues, cors as connectCors, createConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import {
  type ConnectNodeAdapterOptions,
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { Health } from "@kuku/contracts/grpc/health/v1/health_pb";
import * as reflectionV1 from "@kuku/contracts/grpc/reflection/v1/reflection_pb";
import * as reflectionV1alpha from "@kuku/contracts/grpc/reflection/v1alpha/reflection_pb";
import type { Logger } from "pino";
import { type AdminListener, startAdminListener } from "./admin.js";
import { type GrpcJsServer, startGrpcJsServer } from "./grpc-js-server.js";
import { HealthRegistry, ServingStatus } from "./health.js";
import { errorMappingInterceptor, serverObservabilityInterceptor, validationInterceptor } from "./interceptors.js";
import { malformedMessageIsInvalidArgument } from "./malformed.js";
import { initMetrics } from "./metrics.js";
import { reflectionRegistrations } from "./reflection.js";
import type { ServiceRegistration } from "./registration.js";
import { strictInt64Json } from "./strict-int64.js";
import { textFieldsInterceptor } from "./text-fields.js";

/** A plain Node request handler, for HTTP/1.1 and HTTP/2 alike. */
export type NodeHandlerFn = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

// Connections waiting to be accepted. Node's default (511) made 488 of a burst of 1,000 connections wait
// about a second for a SYN retry (`kuku-bench runtime kernel`); the kernel caps it at net.core.somaxconn.
const LISTEN_BACKLOG = 4096;

// Every HTTP/2 connection starts with this preface; HTTP/1.1 never does.
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface ServerOptions {
  readonly name: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
  readonly services: readonly ServiceRegistration[];
  /** Run after the validation interceptor, around every handler. */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Run before validation (e.g. authentication, rate limiting): an anonymous
   * or over-budget caller is refused before it gets field-level answers.
   */
  readonly gateInterceptors?: readonly Interceptor[];
  /** The built-in interceptors to run, in their fixed order; all when unset (the RPC benchmark switches them one at a time). */
  readonly builtIns?: readonly BuiltInInterceptor[];
  /** Longest deadline a caller may ask for. */
  readonly maxTimeoutMs?: number;
  readonly readMaxBytes?: number;
  /** How long shutdown waits for in-flight calls before cutting them. */
  readonly drainTimeoutMs?: number;
  /**
   * HTTP/1.1 upgrade requests (WebSocket) on the same port. Without it an
   * upgrade request is answered like any other request.
   */
  readonly onUpgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Serves every request that is not an RPC (e.g. static files); 404 when unset. */
  readonly fallback?: NodeHandlerFn;
  /** Values handed to interceptors and handlers, taken from the call's origin (e.g. the peer address); the same on every protocol. */
  readonly contextValues?: (origin: CallOrigin) => ContextValues;
  /** Browser origins allowed to call cross-origin; none when unset (same-origin only). */
  readonly corsAllowedOrigins?: readonly string[];
  /**
   * Who serves gRPC over HTTP/2: "connect" (connect-node, the default) or
   * "grpc-js" (@grpc/grpc-js, for service-to-service ports: several times
   * the calls per second). Either way HTTP/1.1 (Connect, gRPC-Web)
   * goes to Connect, and the same implementations run through the same
   * interceptors, with the same contextValues.
   */
  readonly grpcServer?: "connect" | "grpc-js";
  /** Where /metrics, /healthz and /readyz are served (port 0 picks one); nowhere when unset. Never on the public port. */
  readonly admin?: { readonly host: string; readonly port: number };
}

/**
 * What every protocol path knows of a call before it runs: its request
 * headers (gRPC metadata on the grpc-js path, binary values base64 and repeated
 * values joined as Node joins them) and the TCP peer's address.
 */
export interface CallOrigin {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly remoteAddress: string | undefined;
}

export type BuiltInInterceptor = "observability" | "errorMapping" | "validation" | "textFields";

export interface RunningServer {
  readonly port: number;
  /** The admin listener's port, when one was asked for. */
  readonly adminPort: number | undefined;
  readonly health: HealthRegistry;
  /** Graceful: stop accepting, drain in-flight calls, then close. */
  shutdown(): Promise<void>;
}

/**
 * ONE port serving gRPC (HTTP/2 cleartext), gRPC-Web and Connect (HTTP/1.1
 * or HTTP/2), with grpc.health.v1 and gRPC server reflection.
 *
 * Node's cleartext http2 server cannot fall back to HTTP/1.1 (allowHTTP1 is
 * TLS-only, it relies on ALPN), so a plain TCP server peeks at the first
 * bytes and hands the socket to the HTTP/2 or the HTTP/1.1 server.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { logger } = options;
  initMetrics(options.name);
  const health = new HealthRegistry();
  const cutOff = new AbortController();
  const appServices = options.services.map((s) => s.desc);
  const registrations = [
    ...options.services,
    health.registration(),
    ...reflectionRegistrations([...appServices, Health, reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection]),
  ];
  // Observability outermost: its span is active while the others log, and it sees the final status.
  // Then the gate (who may call, how often), then the checks of the request's content.
  const on = new Set<BuiltInInterceptor>(options.builtIns ?? ["observability", "errorMapping", "validation", "textFields"]);
  const builtIn = (name: BuiltInInterceptor, make: () => Interceptor): Interceptor[] => (on.has(name) ? [make()] : []);
  const interceptors = [
    ...builtIn("observability", serverObservabilityInterceptor),
    ...builtIn("errorMapping", () => errorMappingInterceptor(logger)),
    ...(options.gateInterceptors ?? []),
    ...builtIn("validation", validationInterceptor),
    ...builtIn("textFields", textFieldsInterceptor),
    ...(options.interceptors ?? []),
  ];
  const maxTimeoutMs = options.maxTimeoutMs ?? 60_000;
  const readMaxBytes = options.readMaxBytes ?? 4 * 1024 * 1024;
  const router = createConnectRouter({
    interceptors,
    maxTimeoutMs,
    readMaxBytes,
    shutdownSignal: cutOff.signal,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  for (const r of registrations) r.register(router);
  const handler = nodeHandler(
    router.handlers.map((h) => malformedMessageIsInvalidArgument(strictInt64Json(h, readMaxBytes))),
    options,
    logger,
  );
  const withCors = options.corsAllowedOrigins === undefined ? handler : corsHandler(handler, options.corsAllowedOrigins);

  let inFlight = 0;
  let drained: (() => void) | undefined;
  const callEnded = () => {
    inFlight -= 1;
    if (inFlight === 0) drained?.();
  };
  const track = () => {
    inFlight += 1;
    return callEnded;
  };
  const counted = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    res.once("close", track());
    withCors(req, res);
  };
  const h1 = http.createServer(counted);
  if (options.onUpgrade !== undefined) h1.on("upgrade", options.onUpgrade);
  const h2 = http2.createServer({}, counted);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  const grpcJs: GrpcJsServer | undefined =
    options.grpcServer === "grpc-js"
      ? startGrpcJsServer({
          registrations,
          interceptors,
          maxTimeoutMs,
          readMaxBytes,
          shutdownSignal: cutOff.signal,
          track,
          contextValues: options.contextValues,
        })
      : undefined;
  const http2Connection = grpcJs === undefined ? (socket: net.Socket) => h2.emit("connection", socket) : grpcJs.inject;

  const http2Sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    route(socket, h1, (http2Socket) => {
      http2Sockets.add(http2Socket);
      http2Socket.once("close", () => http2Sockets.delete(http2Socket));
      http2Connection(http2Socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
  const port = (tcp.address() as AddressInfo).port;
  const admin: AdminListener | undefined =
    options.admin === undefined ? undefined : await startAdminListener({ ...options.admin, health, logger });
  health.set("", ServingStatus.SERVING);
  for (const desc of appServices) health.set(desc.typeName, ServingStatus.SERVING);
  logger.info(
    {
      host: options.host,
      port,
      adminPort: admin?.port,
      grpcServer: options.grpcServer ?? "connect",
      services: appServices.map((d) => d.typeName),
    },
    "serving",
  );

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => {
    shuttingDown ??= (async () => {
      logger.info({ inFlight }, "shutting down: draining in-flight calls");
      health.close();
      tcp.close();
      for (const session of sessions) session.close();
      const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
      grpcJs?.drain();
      const callsDone = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (drained = resolve));
      // A closing HTTP/2 session closes its socket once its last stream is flushed: only then is every answer out.
      const allDone = Promise.all([callsDone, ...[...http2Sockets].map((socket) => once(socket, "close"))]);
      const timedOut = await Promise.race([
        allDone.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), drainTimeoutMs).unref()),
      ]);
      if (timedOut) {
        logger.warn({ inFlight, drainTimeoutMs }, "drain timed out: cancelling the remaining calls");
        cutOff.abort();
        grpcJs?.close();
      }
      for (const socket of sockets) socket.destroy();
      // Last: /readyz answered 503 through the drain, and the final metrics stayed readable.
      await admin?.close();
      logger.info("stopped");
    })();
    return shuttingDown;
  };
  return { port, adminPort: admin?.port, health, shutdown };
}

/**
 * What connect-node's connectNodeAdapter does, with our wrapped universal
 * handlers: route by path, hand anything else to the fallback (or 404).
 */
function nodeHandler(handlers: readonly UniversalHandler[], options: ServerOptions, logger: Logger): NodeHandlerFn {
  const paths = new Map(handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const uHandler = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (uHandler === undefined) {
      if (options.fallback !== undefined) options.fallback(req, res);
      else {
        res.writeHead(404);
        res.end();
      }
      return;
    }
    const values = options.contextValues?.({ headers: req.headers, remoteAddress: req.socket.remoteAddress });
    const uReq = universalRequestFromNodeRequest(req, res, undefined, values);
    uHandler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        logger.error({ err: reason, procedure: uHandler.requestPath }, "handler failed to respond");
      });
  };
}

/**
 * CORS for the listed origins only, with Connect's own lists of the methods
 * and headers its protocols need. A preflight from any other origin gets no
 * CORS headers, so the browser refuses the call.
 */
function corsHandler(handler: NodeHandlerFn, allowedOrigins: readonly string[]): NodeHandlerFn {
  const allowed = new Set(allowedOrigins);
  return (req, res) => {
    const origin = req.headers.origin;
    const known = typeof origin === "string" && allowed.has(origin);
    if (known) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
      res.setHeader("Access-Control-Expose-Headers", [...connectCors.exposedHeaders, "Retry-After"].join(", "));
    }
    if (req.method === "OPTIONS" && typeof origin === "string") {
      if (known) {
        res.setHeader("Access-Control-Allow-Methods", connectCors.allowedMethods.join(", "));
        res.setHeader("Access-Control-Allow-Headers", [...connectCors.allowedHeaders, "Authorization"].join(", "));
        res.setHeader("Access-Control-Max-Age", "7200");
      }
      res.writeHead(known ? 204 : 403);
      res.end();
      return;
    }
    handler(req, res);
  };
}

function route(socket: net.Socket, h1: http.Server, http2Connection: (socket: net.Socket) => void): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const compared = Math.min(head.length, HTTP2_PREFACE.length);
    const isHttp2 = head.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (isHttp2 && compared < HTTP2_PREFACE.length) return; // need more bytes to decide
    socket.off("data", onData);
    socket.pause();
    socket.unshift(head);
    if (isHttp2) {
      // The HTTP/2 session reads the unshifted bytes itself on its first
      // tick; resuming here would flow them to nobody.
      http2Connection(socket);
    } else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
}

/**
 * Runs a server until SIGTERM or SIGINT, then shuts it down gracefully and
 * closes the service's resources (pools, clients) before exiting 0.
 */
export function shutdownOnSignal(server: RunningServer, logger: Logger, closeResources: () => Promise<void>): void {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "signal received");
    server
      .shutdown()
      .then(closeResources)
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}
