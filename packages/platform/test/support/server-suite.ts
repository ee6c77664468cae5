// The server bootstrap in-process: one port for gRPC (HTTP/2) and Connect or
// gRPC-Web (HTTP/1.1), validation before any handler, health Watch, both
// reflection versions, and draining on shutdown.
import http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createContextKey, createContextValues } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@kuku/contracts/grpc/health/v1/health_pb";
import * as reflectionV1alpha from "@kuku/contracts/grpc/reflection/v1alpha/reflection_pb";
import { DepositResponseSchema, LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import t from "tap";
import { createLogger, type RunningServer, type ServerOptions, serviceOf, startServer } from "../../src/index.js";

/** The bootstrap's behaviour, whichever server answers gRPC on HTTP/2. */
export function serverSuite(grpcServer: ServerOptions["grpcServer"]): void {
  const VALID_ACCOUNT = "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f";
  let handlerCalls = 0;
  let releaseSlowCall: () => void = () => {};
  let slowCallStarted: () => void = () => {};
  const slowCallRunning = new Promise<void>((resolve) => (slowCallStarted = resolve));
  let server: RunningServer;
  let baseUrl: string;
  // What contextValues made of each call's origin, as the handler saw it.
  const originKey = createContextKey("", { description: "peer and probe header" });
  const origins: string[] = [];

  t.before(async () => {
    server = await startServer({
      name: "test",
      grpcServer,
      host: "127.0.0.1",
      port: 0,
      logger: createLogger("server-test", "silent"),
      drainTimeoutMs: 5_000,
      contextValues: (origin) => createContextValues().set(originKey, `${origin.remoteAddress} ${origin.headers["x-probe"]}`),
      // A stand-in implementation: this file tests the bootstrap, not a ledger.
      services: [
        serviceOf(LedgerService, {
          async deposit(req, ctx) {
            handlerCalls += 1;
            origins.push(ctx.values.get(originKey));
            if (req.requestId === "slow") {
              const released = new Promise<void>((resolve) => (releaseSlowCall = resolve));
              slowCallStarted();
              await released;
            }
            return create(DepositResponseSchema, {});
          },
        }),
      ],
    });
    baseUrl = `http://127.0.0.1:${server.port}`;
  });

  const grpc = () => createClient(LedgerService, createGrpcTransport({ baseUrl }));
  const connectH1 = () => createClient(LedgerService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));

  t.test("gRPC over HTTP/2 and Connect over HTTP/1.1 share the port", async (t) => {
    const before = handlerCalls;
    await grpc().deposit({ requestId: "a", accountId: VALID_ACCOUNT, amountMinor: 1n });
    await connectH1().deposit({ requestId: "b", accountId: VALID_ACCOUNT, amountMinor: 1n });
    t.equal(handlerCalls, before + 2);
  });

  t.test("contextValues see the same peer address and request headers on every protocol", async (t) => {
    origins.length = 0;
    const headers = { "x-probe": "seen" };
    await grpc().deposit({ requestId: "c", accountId: VALID_ACCOUNT, amountMinor: 1n }, { headers });
    await connectH1().deposit({ requestId: "d", accountId: VALID_ACCOUNT, amountMinor: 1n }, { headers });
    const web = createClient(LedgerService, createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }));
    await web.deposit({ requestId: "e", accountId: VALID_ACCOUNT, amountMinor: 1n }, { headers });
    t.same(origins, ["127.0.0.1 seen", "127.0.0.1 seen", "127.0.0.1 seen"]);
  });

  t.test("an invalid request is refused before any handler runs", async (t) => {
    const before = handlerCalls;
    for (const client of [grpc(), connectH1()]) {
      const error = await client.deposit({ requestId: "", accountId: "x", amountMinor: 0n }).catch((e: unknown) => ConnectError.from(e));
      t.equal((error as ConnectError).code, Code.InvalidArgument);
      t.match(
        (error as ConnectError).rawMessage,
        /request_id: .*; account_id: must be a valid UUID .*; amount_minor: must be greater than 0/,
      );
      t.equal((error as ConnectError).details.length, 1, "violations are attached as details");
    }
    t.equal(handlerCalls, before, "no handler ran");
  });

  t.test("a body that is not protobuf is INVALID_ARGUMENT in Connect, gRPC-Web and gRPC, and reaches no handler", async (t) => {
    const before = handlerCalls;
    const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x01]);
    const path = "/kuku.ledger.v1.LedgerService/Deposit";
    const connect = await fetch(`${baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/proto" }, body: garbage });
    t.equal(connect.status, 400);
    t.match(await connect.json(), { code: "invalid_argument", message: /malformed request message/ });

    const framed = new Uint8Array(5 + garbage.length);
    new DataView(framed.buffer).setUint32(1, garbage.length);
    framed.set(garbage, 5);
    const grpcWeb = await fetch(`${baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: framed,
    });
    const webBody = new TextDecoder().decode(new Uint8Array(await grpcWeb.arrayBuffer()));
    t.match(webBody, /grpc-status: 3/);

    const session = http2.connect(baseUrl);
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
    // In trailers, or in the headers of a trailers-only response (gRPC allows both).
    const status = new Promise<unknown>((resolve) => {
      stream.once("response", (headers) => headers["grpc-status"] !== undefined && resolve(headers["grpc-status"]));
      stream.once("trailers", (trailers) => resolve(trailers["grpc-status"]));
    });
    stream.end(framed);
    stream.resume();
    t.equal(await status, "3");
    session.close();
    t.equal(handlerCalls, before);
  });

  t.test("health Check and Watch", async (t) => {
    const health = createClient(Health, createGrpcTransport({ baseUrl }));
    t.equal((await health.check({ service: "kuku.ledger.v1.LedgerService" })).status, Status.SERVING);
    const abort = new AbortController();
    const updates = health.watch({ service: "kuku.ledger.v1.LedgerService" }, { signal: abort.signal })[Symbol.asyncIterator]();
    t.equal((await updates.next()).value?.status, Status.SERVING);
    server.health.set("kuku.ledger.v1.LedgerService", Status.NOT_SERVING);
    t.equal((await updates.next()).value?.status, Status.NOT_SERVING, "a change is streamed");
    server.health.set("kuku.ledger.v1.LedgerService", Status.SERVING);
    t.equal((await updates.next()).value?.status, Status.SERVING);
    abort.abort();
    const unknown = await health.check({ service: "nope" }).catch((e: unknown) => ConnectError.from(e));
    t.equal((unknown as ConnectError).code, Code.NotFound);
  });

  t.test("reflection v1alpha answers list and symbol lookups", async (t) => {
    const reflection = createClient(reflectionV1alpha.ServerReflection, createGrpcTransport({ baseUrl }));
    async function* requests() {
      yield create(reflectionV1alpha.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
      yield create(reflectionV1alpha.ServerReflectionRequestSchema, {
        messageRequest: { case: "fileContainingSymbol", value: "kuku.ledger.v1.DepositRequest" },
      });
      yield create(reflectionV1alpha.ServerReflectionRequestSchema, { messageRequest: { case: "fileContainingSymbol", value: "no.Such" } });
    }
    const answers = [];
    for await (const answer of reflection.serverReflectionInfo(requests())) answers.push(answer.messageResponse);
    t.equal(answers[0]?.case, "listServicesResponse");
    t.same(answers[0]?.case === "listServicesResponse" ? answers[0].value.service.map((s) => s.name).sort() : [], [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "kuku.ledger.v1.LedgerService",
    ]);
    t.equal(answers[1]?.case, "fileDescriptorResponse");
    t.ok(answers[1]?.case === "fileDescriptorResponse" && answers[1].value.fileDescriptorProto.length >= 3, "the file and its imports");
    t.equal(answers[2]?.case, "errorResponse");
  });

  t.test("shutdown drains an in-flight call, then refuses new connections", async (t) => {
    const client = grpc();
    const inFlight = client.deposit({ requestId: "slow", accountId: VALID_ACCOUNT, amountMinor: 1n });
    await slowCallRunning;
    const stopped = server.shutdown();
    await new Promise((r) => setTimeout(r, 100));
    let done = false;
    void stopped.then(() => (done = true));
    t.equal(done, false, "shutdown waits for the call");
    releaseSlowCall();
    await inFlight;
    await stopped;
    const refused = await fetch(`${baseUrl}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    }).catch((e: Error) => e);
    t.type(refused, Error, "the port is closed");
  });
}
