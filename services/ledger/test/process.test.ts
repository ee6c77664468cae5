// The ledger as a real process: what an operator or another team sees with
// grpcurl (no .proto files at hand), a @grpc/grpc-js client, Connect JSON
// over HTTP/1.1, gRPC-Web, and a graceful SIGTERM.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { createLogger, createPool, identityClientInterceptor, OPERATOR } from "@kuku/platform";
import {
  createTestDatabase,
  eventually,
  operatorAuthorization,
  run,
  type ServiceProcess,
  startRefused,
  startServiceProcess,
  TOOLS_BIN,
  testIdentity,
} from "@kuku/testkit";
import t from "tap";

const SERVICE_DIR = fileURLToPath(new URL("..", import.meta.url));
const GRPCURL = `${TOOLS_BIN}/grpcurl`;

const database = await createTestDatabase("process");
let service: ServiceProcess;
let target: string;
t.before(async () => {
  service = await startServiceProcess({
    cwd: SERVICE_DIR,
    env: { LEDGER_PORT: "0", LEDGER_DATABASE_URL: database.url, LOG_LEVEL: "info" },
  });
  target = `127.0.0.1:${service.port}`;
});
t.teardown(async () => {
  await service.stop("SIGKILL");
  await database.drop();
});

async function grpcurl(...args: string[]) {
  t.ok(existsSync(GRPCURL), `grpcurl is installed at ${GRPCURL} (run make infra)`);
  // As the README shows: the operator's token for the ledger's rpcs (reflection and health need none).
  return run(GRPCURL, ["-plaintext", "-H", `authorization: ${await operatorAuthorization(api.LedgerService.typeName)}`, ...args]);
}

/** A @grpc/grpc-js unary call with protobuf-es doing the (de)serialising. */
function grpcJsCall<I extends DescMessage, O extends DescMessage>(
  method: string,
  input: I,
  output: O,
  request: MessageShape<I>,
): Promise<MessageShape<O>> {
  const Client = grpc.makeGenericClientConstructor({}, "LedgerService");
  const client = new Client(target, grpc.credentials.createInsecure());
  return operatorAuthorization(api.LedgerService.typeName).then((authorization) =>
    grpcJsUnary(client, method, input, output, request, authorization),
  );
}

function grpcJsUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: string,
  input: I,
  output: O,
  request: MessageShape<I>,
  authorization: string,
): Promise<MessageShape<O>> {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", authorization);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/kuku.ledger.v1.LedgerService/${method}`,
      (message: MessageShape<I>) => Buffer.from(toBinary(input, message)),
      (bytes: Buffer) => fromBinary(output, bytes),
      request,
      metadata,
      (error, response) => {
        client.close();
        if (error) reject(error);
        else resolve(response!);
      },
    );
  });
}

t.test("grpcurl lists and describes the services through reflection", async (t) => {
  const list = await grpcurl(target, "list");
  t.equal(list.code, 0, list.stderr);
  for (const name of ["kuku.ledger.v1.LedgerService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]) {
    t.match(list.stdout, name);
  }
  const describe = await grpcurl(target, "describe", "kuku.ledger.v1.LedgerService.Deposit");
  t.equal(describe.code, 0, describe.stderr);
  t.match(describe.stdout, /rpc Deposit \( \.kuku\.ledger\.v1\.DepositRequest \) returns \( \.kuku\.ledger\.v1\.DepositResponse \)/);
  const message = await grpcurl(target, "describe", "kuku.ledger.v1.DepositRequest");
  t.match(message.stdout, /int64 amount_minor = 3/);
});

t.test("grpcurl health check says SERVING", async (t) => {
  const whole = await grpcurl(target, "grpc.health.v1.Health/Check");
  t.equal(whole.code, 0, whole.stderr);
  t.match(whole.stdout, /"status": "SERVING"/);
  const ledger = await grpcurl("-d", '{"service":"kuku.ledger.v1.LedgerService"}', target, "grpc.health.v1.Health/Check");
  t.match(ledger.stdout, /"status": "SERVING"/);
  const unknown = await grpcurl("-d", '{"service":"nope.Service"}', target, "grpc.health.v1.Health/Check");
  t.match(unknown.stderr, /Code: NotFound/);
});

t.test("grpcurl calls work, and a malformed request names the field", async (t) => {
  const opened = await grpcurl(
    "-d",
    '{"requestId":"grpcurl-1","ownerId":"grpcurl-user","asset":"KRW"}',
    target,
    "kuku.ledger.v1.LedgerService/OpenAccount",
  );
  t.equal(opened.code, 0, opened.stderr);
  const accountId = (JSON.parse(opened.stdout) as { account: { accountId: string } }).account.accountId;
  const deposited = await grpcurl(
    "-d",
    JSON.stringify({ requestId: "grpcurl-2", accountId, amountMinor: "5000" }),
    target,
    "kuku.ledger.v1.LedgerService/Deposit",
  );
  t.match(deposited.stdout, /"totalMinor": "5000"/);
  const bad = await grpcurl(
    "-d",
    JSON.stringify({ requestId: "grpcurl-3", accountId, amountMinor: "-1" }),
    target,
    "kuku.ledger.v1.LedgerService/Deposit",
  );
  t.not(bad.code, 0);
  t.match(bad.stderr, /Code: InvalidArgument/);
  t.match(bad.stderr, /amount_minor: must be greater than 0/);
});

t.test("a @grpc/grpc-js client calls the service", async (t) => {
  const response = await grpcJsCall(
    "OpenAccount",
    api.OpenAccountRequestSchema,
    api.OpenAccountResponseSchema,
    create(api.OpenAccountRequestSchema, { requestId: "grpc-js-1", ownerId: "grpc-js-user", asset: "005930" }),
  );
  t.equal(response.account?.asset, "005930");
  t.equal(response.account?.kind, api.AccountKind.USER);
  const error = await grpcJsCall(
    "Deposit",
    api.DepositRequestSchema,
    api.DepositResponseSchema,
    create(api.DepositRequestSchema, { requestId: "grpc-js-2", accountId: response.account!.accountId, amountMinor: 0n }),
  ).catch((e: grpc.ServiceError) => e);
  t.equal((error as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
  t.match((error as grpc.ServiceError).details, /amount_minor/);
});

t.test("Connect JSON over HTTP/1.1 and gRPC-Web reach the same port", async (t) => {
  const authorization = await operatorAuthorization(api.LedgerService.typeName);
  const response = await fetch(`http://${target}/kuku.ledger.v1.LedgerService/OpenAccount`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ requestId: "connect-1", ownerId: "connect-user", asset: "KRW" }),
  });
  t.equal(response.status, 200);
  const body = (await response.json()) as { account: { ownerId: string } };
  t.equal(body.account.ownerId, "connect-user");
  const bad = await fetch(`http://${target}/kuku.ledger.v1.LedgerService/OpenAccount`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ requestId: "connect-2", ownerId: "connect-user", asset: "usd" }),
  });
  t.equal(bad.status, 400);
  t.match(await bad.json(), { code: "invalid_argument", message: /asset/ });

  const web = createClient(
    api.LedgerService,
    createGrpcWebTransport({
      baseUrl: `http://${target}`,
      httpVersion: "1.1",
      interceptors: [identityClientInterceptor(testIdentity(OPERATOR))],
    }),
  );
  const balances = await web.getBalances({ ownerId: "connect-user" });
  t.equal(balances.balances.length, 1);
});

t.test("SIGTERM during an in-flight call: the call completes, then the process exits 0", async (t) => {
  const opened = await grpcJsCall(
    "OpenAccount",
    api.OpenAccountRequestSchema,
    api.OpenAccountResponseSchema,
    create(api.OpenAccountRequestSchema, { requestId: "sigterm-open", ownerId: "sigterm-user", asset: "KRW" }),
  );
  const accountId = opened.account!.accountId;
  await grpcJsCall(
    "Deposit",
    api.DepositRequestSchema,
    api.DepositResponseSchema,
    create(api.DepositRequestSchema, { requestId: "sigterm-fund", accountId, amountMinor: 1_000n }),
  );

  // Hold the balance row so that the withdrawal is provably in flight.
  const pool = createPool(
    { connectionString: database.url, poolSizeMax: 2, statementTimeoutMs: 30_000, applicationName: "sigterm-test" },
    createLogger("sigterm-test", "silent"),
  );
  const blocker = await pool.connect();
  await blocker.query("BEGIN");
  await blocker.query("SELECT 1 FROM balances WHERE account_id = $1 FOR UPDATE", [accountId]);
  const inFlight = grpcJsCall(
    "Withdraw",
    api.WithdrawRequestSchema,
    api.WithdrawResponseSchema,
    create(api.WithdrawRequestSchema, { requestId: "sigterm-withdraw", accountId, amountMinor: 400n }),
  );
  await eventually(
    "the withdrawal waits for the balance lock",
    async () => {
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted");
      return (rows[0] as { n: number }).n > 0;
    },
    5_000,
  );
  service.child.kill("SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(service.child.exitCode, null, "still running while the call is in flight");
  await blocker.query("COMMIT");
  blocker.release();
  await pool.end();
  const response = await inFlight;
  t.equal(response.balance?.totalMinor, 600n, "the in-flight withdrawal completed");
  t.equal(await service.exited, 0, "exit code 0 after draining");
  t.match(service.logs.join("\n"), /shutting down: draining in-flight calls/);
});

t.test("the batched guard refuses to start with no connection beyond its writers' (it would deadlock on a new asset)", async (t) => {
  const refused = await startRefused("ledger", { LEDGER_POOL_SIZE_MAX: "4", LEDGER_BATCH_WRITERS: "4", LEDGER_BALANCE_GUARD: "batched" });
  t.match(refused, /LEDGER_POOL_SIZE_MAX \(4\) must exceed LEDGER_BATCH_WRITERS \(4\) with the batched guard/);
});
