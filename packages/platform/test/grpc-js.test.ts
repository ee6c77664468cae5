// The grpc-js path end to end, against both servers: the service client
// (a Connect transport over a grpc-js channel) and the server's grpc-js side
// must carry what connect-node carried: status codes, messages, error details
// and metadata, request and response headers and trailers, the deadline and
// cancellation, and server streams.
import { create } from "@bufbuild/protobuf";
import { violationsToProto } from "@bufbuild/protovalidate";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@kuku/contracts/grpc/health/v1/health_pb";
import { DepositResponseSchema, LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import t from "tap";
import {
  createLogger,
  createServiceClient,
  failedPrecondition,
  type RunningServer,
  type ServerOptions,
  serviceOf,
  startServer,
} from "../src/index.js";

// buf.validate.Violations, the schema protovalidate attaches (the package exports it only this way).
const [, ViolationsSchema] = violationsToProto([]);
const ACCOUNT = "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f";

interface Seen {
  header?: Headers;
  timeoutMs?: number;
  cancelled?: Promise<void>;
}

async function serve(grpcServer: ServerOptions["grpcServer"], seen: Seen): Promise<RunningServer> {
  return startServer({
    name: "grpc-js-test",
    grpcServer,
    host: "127.0.0.1",
    port: 0,
    logger: createLogger("grpc-js-test", "silent"),
    services: [
      serviceOf(LedgerService, {
        async deposit(req, ctx: HandlerContext) {
          seen.header = ctx.requestHeader;
          seen.timeoutMs = ctx.timeoutMs();
          ctx.responseHeader.set("x-answered-by", "stand-in");
          ctx.responseTrailer.set("x-ledger-seq", "42");
          if (req.requestId === "refused") throw failedPrecondition("insufficient funds", { "x-shortfall-minor": "7" });
          if (req.requestId === "hang") {
            seen.cancelled = new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
          }
          return create(DepositResponseSchema, {});
        },
      }),
    ],
  });
}

for (const grpcServer of ["grpc-js", "connect"] as const) {
  t.test(`the service client against the ${grpcServer} server`, async (t) => {
    const seen: Seen = {};
    const server = await serve(grpcServer, seen);
    t.teardown(() => server.shutdown());
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const ledger = createServiceClient(LedgerService, { baseUrl, timeoutMs: 5_000 });

    t.test("headers and trailers both ways, and the deadline", async (t) => {
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      await ledger.deposit(
        { requestId: "ok", accountId: ACCOUNT, amountMinor: 1n },
        {
          headers: { "x-request-id": "r-1", "x-blob-bin": Buffer.from([1, 2, 3]).toString("base64") },
          onHeader: (h) => (header = h),
          onTrailer: (h) => (trailer = h),
        },
      );
      t.equal(seen.header?.get("x-request-id"), "r-1");
      t.equal(seen.header?.get("x-blob-bin"), "AQID", "binary metadata arrives base64, as Connect shows it");
      t.ok(
        seen.timeoutMs !== undefined && seen.timeoutMs > 3_000 && seen.timeoutMs <= 5_000,
        `deadline propagated (${seen.timeoutMs} ms left)`,
      );
      t.equal(header?.get("x-answered-by"), "stand-in");
      t.equal(trailer?.get("x-ledger-seq"), "42");
    });

    t.test("a validation error keeps its code, field-level message and violations", async (t) => {
      const error = ConnectError.from(await ledger.deposit({ requestId: "", accountId: "x", amountMinor: 0n }).catch((e: unknown) => e));
      t.equal(error.code, Code.InvalidArgument);
      t.match(error.rawMessage, /request_id: .*; account_id: must be a valid UUID .*; amount_minor: must be greater than 0/);
      const [violations] = error.findDetails(ViolationsSchema);
      t.same(
        violations?.violations.map((v) => v.field?.elements[0]?.fieldName),
        ["request_id", "account_id", "amount_minor"],
        "buf.validate.Violations in grpc-status-details-bin",
      );
    });

    t.test("a domain error keeps its code and its metadata", async (t) => {
      const error = ConnectError.from(
        await ledger.deposit({ requestId: "refused", accountId: ACCOUNT, amountMinor: 1n }).catch((e: unknown) => e),
      );
      t.equal(error.code, Code.FailedPrecondition);
      t.equal(error.rawMessage, "insufficient funds");
      t.equal(error.metadata.get("x-shortfall-minor"), "7");
    });

    t.test("the caller's deadline and cancellation reach the handler", async (t) => {
      const late = ConnectError.from(
        await ledger.deposit({ requestId: "hang", accountId: ACCOUNT, amountMinor: 1n }, { timeoutMs: 200 }).catch((e: unknown) => e),
      );
      t.equal(late.code, Code.DeadlineExceeded);
      await seen.cancelled;
      const abort = new AbortController();
      const call = ledger.deposit({ requestId: "hang", accountId: ACCOUNT, amountMinor: 1n }, { signal: abort.signal });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const handlerCancelled = seen.cancelled;
      abort.abort();
      t.equal(ConnectError.from(await call.catch((e: unknown) => e)).code, Code.Canceled);
      await handlerCancelled;
      t.pass("the handler's signal was aborted");
    });

    t.test("server streaming through the service client", async (t) => {
      const health = createServiceClient(Health, { baseUrl, timeoutMs: 5_000 });
      t.equal((await health.check({ service: LedgerService.typeName })).status, Status.SERVING);
      const abort = new AbortController();
      const updates = health.watch({ service: LedgerService.typeName }, { signal: abort.signal })[Symbol.asyncIterator]();
      t.equal((await updates.next()).value?.status, Status.SERVING);
      server.health.set(LedgerService.typeName, Status.NOT_SERVING);
      t.equal((await updates.next()).value?.status, Status.NOT_SERVING);
      abort.abort();
      const unknown = ConnectError.from(await health.check({ service: "nope" }).catch((e: unknown) => e));
      t.equal(unknown.code, Code.NotFound);
    });
  });
}

t.test("a target nobody listens on is UNAVAILABLE", async (t) => {
  const ledger = createServiceClient(LedgerService, { baseUrl: "http://127.0.0.1:1", timeoutMs: 2_000 });
  const error = ConnectError.from(await ledger.deposit({ requestId: "x", accountId: ACCOUNT, amountMinor: 1n }).catch((e: unknown) => e));
  t.equal(error.code, Code.Unavailable);
});
