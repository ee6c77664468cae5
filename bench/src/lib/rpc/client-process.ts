// A Node client of `kuku-bench rpc`, in a process of its own (forked by the
// command): `concurrency` calls of grpc.health.v1.Health/Check in flight over
// one HTTP/2 connection, through connect's gRPC transport, @grpc/grpc-js, or
// the platform's service client (its interceptors on its own transport). The spec
// comes as JSON in argv[2]; it sends {measuring} after the warm-up, then
// {result} and exits (client-loop.ts).
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { Health, HealthCheckRequestSchema } from "@kuku/contracts/grpc/health/v1/health_pb";
import { createServiceClient } from "@kuku/platform";
import { runClientLoop } from "./client-loop.js";
import { unaryCall, unaryDefinition } from "./grpc-js.js";
import { MTLS_SERVER_NAME, mtlsFiles } from "./mtls.js";
import type { ClientRun } from "./rows.js";

type Check = () => Promise<unknown>;

function connectCheck(baseUrl: string): Check {
  const client = createClient(Health, createGrpcTransport({ baseUrl }));
  const request = create(HealthCheckRequestSchema);
  return () => client.check(request);
}

function platformCheck(baseUrl: string): Check {
  const client = createServiceClient(Health, { baseUrl, timeoutMs: 10_000 });
  const request = create(HealthCheckRequestSchema);
  return () => client.check(request);
}

function grpcJsCheck(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}): Check {
  const client = new grpc.Client(address, credentials, options);
  const method = unaryDefinition(Health.method.check);
  const request = create(HealthCheckRequestSchema);
  return () => unaryCall(client, method, request);
}

const spec = JSON.parse(process.argv[2] ?? "{}") as ClientRun;
const address = `127.0.0.1:${spec.port}`;
function mtlsCredentials(tlsDir: string): grpc.ChannelCredentials {
  const { ca, key, cert } = mtlsFiles(tlsDir, "client");
  return grpc.credentials.createSsl(ca, key, cert);
}

const check =
  spec.client === "connect"
    ? connectCheck(`http://${address}`)
    : spec.client === "platform"
      ? platformCheck(`http://${address}`)
      : spec.client === "grpc-js-mtls"
        ? grpcJsCheck(address, mtlsCredentials(spec.tlsDir!), { "grpc.ssl_target_name_override": MTLS_SERVER_NAME })
        : grpcJsCheck(address);
await runClientLoop(spec, check);
