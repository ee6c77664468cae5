// One server of `kuku-bench rpc`, in a process of its own (forked by the
// command, so that its CPU time is its own): a bare connect-node server, a
// bare @grpc/grpc-js server, or the platform's startServer with the chosen
// interceptors. Each serves grpc.health.v1.Health/Check. The spec comes as
// JSON in argv[2]; the process sends {port} once listening and exits when
// the command disconnects.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { Health, HealthCheckResponse_ServingStatus, HealthCheckResponseSchema } from "@kuku/contracts/grpc/health/v1/health_pb";
import { createLogger, faultInjectionInterceptor, initTracing, startServer, watchFaultFile } from "@kuku/platform";
import { unaryDefinition } from "./grpc-js.js";
import { mtlsFiles } from "./mtls.js";
import type { ServerSpec } from "./rows.js";

const serving = () => create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING });

async function bareConnect(): Promise<number> {
  const server = http2.createServer(connectNodeAdapter({ routes: (router) => router.service(Health, { check: serving }) }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function bareGrpcJs(credentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
  const server = new grpc.Server();
  server.addService(
    { check: unaryDefinition(Health.method.check) },
    { check: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, serving()) },
  );
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (error, port) => (error ? reject(error) : resolve(port))),
  );
}

/** The platform's server (its own Health answers). */
async function platform(spec: Extract<ServerSpec, { kind: "platform" }>): Promise<number> {
  await initTracing("rpc-bench", { OTEL_TRACES_EXPORTER: spec.tracing ? "zipkin" : "none" });
  const logger = createLogger("rpc-bench", "warn");
  // As the order service watches its drill file: absent, so no faults, only the cost of looking.
  const faults = watchFaultFile("/nonexistent/kuku-rpc-bench-faults.yaml", "rpc-bench", {
    checkIntervalMs: 500,
    onError: (err) => logger.error({ err }, "fault file ignored"),
  });
  const server = await startServer({
    name: "rpc-bench",
    host: "127.0.0.1",
    port: 0,
    logger,
    services: [],
    builtIns: spec.builtIns,
    grpcServer: spec.grpcServer,
    interceptors: spec.faults ? [faultInjectionInterceptor(faults)] : [],
  });
  return server.port;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as ServerSpec;
if (spec.kind === "ledger") throw new Error("the ledger runs as its own service");
/** Mutual TLS: the client must present a certificate of the same CA. */
function mtlsCredentials(tlsDir: string): grpc.ServerCredentials {
  const { ca, key, cert } = mtlsFiles(tlsDir, "server");
  return grpc.ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], true);
}

const port = await (spec.kind === "connect"
  ? bareConnect()
  : spec.kind === "grpc-js"
    ? bareGrpcJs()
    : spec.kind === "grpc-js-mtls"
      ? bareGrpcJs(mtlsCredentials(spec.tlsDir!))
      : platform(spec));
process.on("disconnect", () => process.exit(0));
process.send?.({ port });
