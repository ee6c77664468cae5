// The client policies against a real server (startServer on port 0) that
// fails on purpose: retries for idempotent calls only, the breaker opening,
// half-opening and closing, the bulkhead and the rate limiter refusing
// locally, the attempt timeout, the metrics, and the Istio fault spec applied
// by the local drill interceptor.
import { rmSync, utimesSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CloseSessionResponseSchema, ExchangeService } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import {
  DepositResponseSchema,
  GetBalancesResponseSchema,
  LedgerService,
  WithdrawResponseSchema,
} from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { CircuitState } from "cockatiel";
import { register } from "prom-client";
import t from "tap";
import {
  createLogger,
  createResilience,
  createServiceClient,
  faultsFromIstio,
  neverSent,
  type ResilienceOptions,
  type RunningServer,
  serviceOf,
  startServer,
  watchFaultFile,
} from "../src/index.js";

const ACCOUNT = "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f";
const logger = createLogger("resilience-test", "silent");

// What the server does next: fail with these codes first, then answer; optionally slowly or after a gate opens.
const server = {
  failures: [] as Code[],
  failAlways: undefined as Code | undefined,
  delayMs: 0,
  gate: undefined as Promise<void> | undefined,
  calls: { getBalances: 0, deposit: 0, withdraw: 0, closeSession: 0 },
  inFlight: 0,
};
function reset(): void {
  server.failures = [];
  server.failAlways = undefined;
  server.delayMs = 0;
  server.gate = undefined;
  server.calls = { getBalances: 0, deposit: 0, withdraw: 0, closeSession: 0 };
}
async function serve<T>(method: keyof typeof server.calls, answer: T): Promise<T> {
  server.calls[method] += 1;
  server.inFlight += 1;
  try {
    if (server.gate !== undefined) await server.gate;
    if (server.delayMs > 0) await sleep(server.delayMs);
    const code = server.failures.shift() ?? server.failAlways;
    if (code !== undefined) throw new ConnectError(`failing on purpose: ${Code[code]}`, code);
    return answer;
  } finally {
    server.inFlight -= 1;
  }
}

let running: RunningServer;
t.before(async () => {
  running = await startServer({
    name: "failing-ledger",
    host: "127.0.0.1",
    port: 0,
    logger,
    services: [
      serviceOf(LedgerService, {
        getBalances: () => serve("getBalances", create(GetBalancesResponseSchema, {})),
        deposit: () => serve("deposit", create(DepositResponseSchema, {})),
        withdraw: () => serve("withdraw", create(WithdrawResponseSchema, {})),
      }),
      serviceOf(ExchangeService, { closeSession: () => serve("closeSession", create(CloseSessionResponseSchema, {})) }),
    ],
  });
});
t.teardown(() => running.shutdown());
t.beforeEach(reset);

// Which calls are retried is the contracts': GetBalances is NO_SIDE_EFFECTS, Deposit IDEMPOTENT by its
// request id, and the exchange's CloseSession, declared neither, stands for a call that must never be repeated.
const POLICY: ResilienceOptions = {
  target: "test-ledger",
  logger,
  attemptTimeoutMs: 1_000,
  retry: { attemptsMax: 4, delayMsInitial: 5, delayMsMax: 20 },
  breaker: { consecutiveFailuresMax: 1_000, halfOpenAfterMs: 60_000 },
  bulkhead: { concurrencyMax: 64, queueMax: 64 },
};
let clients = 0;
function clientWith(overrides: Partial<ResilienceOptions> = {}, extra: { faults?: string; timeoutMs?: number } = {}) {
  const resilience = createResilience({ ...POLICY, target: `test-ledger-${++clients}`, ...overrides });
  const options = {
    baseUrl: `http://127.0.0.1:${running.port}`,
    timeoutMs: extra.timeoutMs ?? 5_000,
    resilience,
    ...(extra.faults !== undefined ? { faults: faultsFromIstio(extra.faults, "ledger") } : {}),
  };
  const client = createServiceClient(LedgerService, options);
  // The same server and policies: only for its one call that is not idempotent.
  const exchange = createServiceClient(ExchangeService, options);
  return { client, exchange, resilience, target: `test-ledger-${clients}` };
}
const read = (c: ReturnType<typeof clientWith>["client"]) => c.getBalances({ ownerId: "alice" });
const deposit = (c: ReturnType<typeof clientWith>["client"], requestId = "dep-1") =>
  c.deposit({ requestId, accountId: ACCOUNT, amountMinor: 1n });
const withdraw = (c: ReturnType<typeof clientWith>["client"]) => c.withdraw({ requestId: "wd-1", accountId: ACCOUNT, amountMinor: 1n });
const closeSession = (c: ReturnType<typeof clientWith>["exchange"]) => c.closeSession({});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = await register.getSingleMetric(name)!.get();
  const v = m.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

t.test("idempotent calls are retried with backoff until they succeed", async (t) => {
  const { client, target } = clientWith();
  server.failures = [Code.Unavailable, Code.Unavailable];
  await read(client);
  t.equal(server.calls.getBalances, 3, "a read: two failures, then the answer");
  server.failures = [Code.Aborted, Code.Unavailable];
  await deposit(client);
  t.equal(server.calls.deposit, 3, "a deposit carrying a request id: retried the same way");
  t.equal(await metric("kuku_client_retries_total", { target, method: "getBalances" }), 2, "retries counted per method");
  t.equal(await metric("kuku_client_retries_total", { target, method: "deposit" }), 2);
});

const DEPOSITS_FAIL = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ledger-faults }
spec:
  hosts: [ledger]
  http:
    - match: [{ uri: { exact: /kuku.ledger.v1.LedgerService/Deposit } }]
      fault: { abort: { grpcStatus: UNAVAILABLE, percentage: { value: 100 } } }
      route: [{ destination: { host: ledger } }]
`;

t.test("calls not declared idempotent, or without their key, are never retried", async (t) => {
  const { exchange } = clientWith();
  server.failures = [Code.Unavailable];
  t.equal((await failure(closeSession(exchange)))?.code, Code.Unavailable);
  t.equal(server.calls.closeSession, 1, "CloseSession declares no idempotency level: one attempt");
  // A deposit without its request id never reaches a handler (the contract requires the id): an injected failure stands in for one.
  const { client: keyless, target } = clientWith({}, { faults: DEPOSITS_FAIL });
  t.equal((await failure(deposit(keyless, "")))?.code, Code.Unavailable);
  t.equal(
    await metric("kuku_client_retries_total", { target, method: "deposit" }),
    0,
    "declared by a key field that is not set: one attempt",
  );
  t.equal((await failure(deposit(keyless, "dep-2")))?.code, Code.Unavailable);
  t.equal(await metric("kuku_client_retries_total", { target, method: "deposit" }), 3, "the same call with its key: retried");
});

t.test("answers that a repeat cannot change are not retried", async (t) => {
  const { client } = clientWith();
  for (const code of [Code.FailedPrecondition, Code.InvalidArgument, Code.NotFound, Code.PermissionDenied]) {
    server.calls.getBalances = 0;
    server.failures = [code];
    t.equal((await failure(read(client)))?.code, code);
    t.equal(server.calls.getBalances, 1, `${Code[code]}: one attempt`);
  }
});

t.test("retries stop at attemptsMax", async (t) => {
  const { client } = clientWith();
  server.failAlways = Code.Unavailable;
  t.equal((await failure(read(client)))?.code, Code.Unavailable);
  t.equal(server.calls.getBalances, 4);
});

t.test("a slow attempt times out and is retried; the call's deadline bounds all attempts", async (t) => {
  const { client } = clientWith({ attemptTimeoutMs: 100 });
  server.delayMs = 400;
  const started = Date.now();
  const error = await failure(read(client));
  t.equal(error?.code, Code.DeadlineExceeded);
  t.equal(server.calls.getBalances, 4, "four attempts of 100 ms each");
  t.ok(Date.now() - started < 1_000, "no attempt waited for the slow answer");

  const { client: short } = clientWith({ attemptTimeoutMs: 1_000 }, { timeoutMs: 250 });
  server.calls.getBalances = 0;
  const shortStarted = Date.now();
  t.equal((await failure(read(short)))?.code, Code.DeadlineExceeded);
  t.equal(server.calls.getBalances, 1, "the overall deadline expired during the first attempt: no retry after it");
  t.ok(Date.now() - shortStarted < 600);
});

t.test("the breaker opens after consecutive failures, refuses locally, half-opens and closes", async (t) => {
  const { exchange, resilience, target } = clientWith({ breaker: { consecutiveFailuresMax: 3, halfOpenAfterMs: 300 } });
  const states: string[] = [];
  resilience.breaker.onStateChange((s) => states.push(CircuitState[s]));
  server.failAlways = Code.Unavailable;
  for (let i = 0; i < 3; i++) await failure(closeSession(exchange));
  t.equal(resilience.breaker.state, CircuitState.Open);
  t.equal(await metric("kuku_client_circuit_state", { target }), CircuitState.Open, "state exported");
  t.equal(await metric("kuku_client_circuit_openings_total", { target }), 1);

  const refused = await failure(closeSession(exchange));
  t.equal(refused?.code, Code.Unavailable);
  t.ok(neverSent(refused), "an open circuit refuses without sending");
  t.equal(server.calls.closeSession, 3, "the server saw no fourth call");
  t.equal(await metric("kuku_client_rejections_total", { target, reason: "circuit_open" }), 1);

  await sleep(350);
  t.equal((await failure(closeSession(exchange)))?.code, Code.Unavailable, "the half-open probe fails");
  t.equal(resilience.breaker.state, CircuitState.Open, "and opens the circuit again");
  await sleep(350);
  server.failAlways = undefined;
  await closeSession(exchange);
  t.equal(resilience.breaker.state, CircuitState.Closed, "a successful probe closes it");
  t.same(states, ["Open", "HalfOpen", "Open", "HalfOpen", "Closed"]);
  t.equal(await metric("kuku_client_circuit_state", { target }), CircuitState.Closed);
  t.equal(await metric("kuku_client_circuit_openings_total", { target }), 2);
  const transitions = async (to: string) => metric("kuku_client_circuit_transitions_total", { target, to });
  t.same(
    [await transitions("open"), await transitions("half_open"), await transitions("closed")],
    [2, 2, 1],
    "every state change counted by the state entered",
  );
});

t.test("a sampling breaker opens on the failure ratio over its window, not on a run of failures", async (t) => {
  const { exchange, resilience } = clientWith({
    breaker: { failureRatioMax: 0.5, windowMs: 1_000, callsPerSecondMin: 5, halfOpenAfterMs: 60_000 },
  });
  for (let i = 0; i < 40; i++) {
    server.failures = i % 4 === 0 ? [Code.Unavailable] : [];
    await failure(closeSession(exchange));
  }
  t.equal(resilience.breaker.state, CircuitState.Closed, "25 % failures: closed");
  server.failAlways = Code.Unavailable;
  let refusedAfter = 0;
  for (let i = 0; i < 40 && resilience.breaker.state === CircuitState.Closed; i++) {
    await failure(closeSession(exchange));
    refusedAfter = i + 1;
  }
  t.equal(resilience.breaker.state, CircuitState.Open, `all failing: open after ${refusedAfter} calls`);
});

t.test("business answers do not open the breaker", async (t) => {
  const { exchange, resilience } = clientWith({ breaker: { consecutiveFailuresMax: 2, halfOpenAfterMs: 60_000 } });
  server.failAlways = Code.FailedPrecondition;
  for (let i = 0; i < 5; i++) await failure(closeSession(exchange));
  t.equal(resilience.breaker.state, CircuitState.Closed);
});

t.test("retries never pass an open breaker", async (t) => {
  const { client, resilience } = clientWith({ breaker: { consecutiveFailuresMax: 2, halfOpenAfterMs: 60_000 } });
  server.failAlways = Code.Unavailable;
  const error = await failure(read(client));
  t.equal(server.calls.getBalances, 2, "two attempts opened the circuit; the third was refused locally");
  t.ok(neverSent(error));
  t.equal(resilience.breaker.state, CircuitState.Open);
});

t.test("the bulkhead refuses calls past its slots and queue with RESOURCE_EXHAUSTED", async (t) => {
  const { client, target } = clientWith({ bulkhead: { concurrencyMax: 2, queueMax: 1 } });
  let open: () => void = () => {};
  server.gate = new Promise((r) => (open = r));
  const calls = [read(client), read(client), read(client)];
  while (server.inFlight < 2) await sleep(5);
  const refused = await failure(read(client));
  t.equal(refused?.code, Code.ResourceExhausted);
  t.ok(neverSent(refused));
  t.equal(server.inFlight, 2, "two calls in flight at the server, one queued here");
  open();
  await Promise.all(calls);
  t.equal(server.calls.getBalances, 3, "the queued call ran once a slot was free");
  t.equal(await metric("kuku_client_rejections_total", { target, reason: "bulkhead" }), 1);
});

t.test("the rate limiter lets a burst through, makes the next wait, refuses past its wait", async (t) => {
  const { client, target } = clientWith({ rateLimit: { callsPerSecond: 10, burst: 2, waitMsMax: 150 } });
  const started = Date.now();
  const results = await Promise.all([0, 1, 2, 3].map(() => failure(read(client))));
  t.same(results.slice(0, 3), [undefined, undefined, undefined], "two at once, the third after ~100 ms");
  t.equal(results[3]?.code, Code.ResourceExhausted, "the fourth would wait ~200 ms: refused");
  t.ok(neverSent(results[3]));
  t.ok(Date.now() - started >= 90, "the third waited for its token");
  t.equal(server.calls.getBalances, 3);
  t.equal(await metric("kuku_client_rejections_total", { target, reason: "rate_limit" }), 1);
});

const DRILL = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: exchange-faults }
spec:
  hosts: [exchange]
  http:
    - fault: { abort: { grpcStatus: UNAVAILABLE, percentage: { value: 100 } } }
      route: [{ destination: { host: exchange } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ledger-faults }
spec:
  hosts: [ledger.kuku.svc.cluster.local]
  http:
    - match: [{ uri: { exact: /kuku.ledger.v1.LedgerService/Withdraw } }]
      fault: { abort: { grpcStatus: PERMISSION_DENIED, percentage: { value: 100 } } }
      route: [{ destination: { host: ledger } }]
    - match: [{ uri: { prefix: /kuku.ledger.v1.LedgerService/GetBalances } }]
      fault: { delay: { fixedDelay: 200ms, percentage: { value: 100 } } }
      route: [{ destination: { host: ledger } }]
    - fault: { abort: { grpcStatus: UNAVAILABLE } }
      route: [{ destination: { host: ledger } }]
`;

t.test("an Istio fault spec drives the local drill: routes, delays, aborts", async (t) => {
  const { client } = clientWith({}, { faults: DRILL });
  t.equal((await failure(withdraw(client)))?.code, Code.PermissionDenied, "the route for Withdraw aborts it");
  t.equal(server.calls.withdraw, 0, "the fault stands in for the server");
  const started = Date.now();
  await read(client);
  t.ok(Date.now() - started >= 190, "GetBalances is delayed 200 ms");
  await deposit(client);
  t.equal(server.calls.deposit, 1, "an abort without a percentage never fires (Istio's rule)");
  t.same(faultsFromIstio(DRILL, "market"), [], "no rules for a service the file does not name");
});

t.test("injected aborts are met by the policies: retries absorb half, the breaker opens at all", async (t) => {
  const half = DRILL.replace("grpcStatus: UNAVAILABLE } }", "grpcStatus: UNAVAILABLE, percentage: { value: 50 } } }");
  const { client } = clientWith({ retry: { attemptsMax: 20, delayMsInitial: 1, delayMsMax: 5 } }, { faults: half });
  for (let i = 0; i < 20; i++) await deposit(client, `dep-${i}`);
  t.equal(server.calls.deposit, 20, "every deposit got through, each reaching the server once");
  const { client: broken, resilience } = clientWith(
    { breaker: { consecutiveFailuresMax: 3, halfOpenAfterMs: 60_000 } },
    { faults: half.replace("value: 50", "value: 100") },
  );
  for (let i = 0; i < 3; i++) await failure(deposit(broken, `x-${i}`));
  t.equal(resilience.breaker.state, CircuitState.Open);
});

t.test("a call given up during an injected delay never reaches the server", async (t) => {
  const slow = DRILL.replace("fixedDelay: 200ms", "fixedDelay: 600ms");
  for (const [what, overrides, timeoutMs] of [
    ["the call's deadline", {}, 200],
    ["the attempt timeout", { attemptTimeoutMs: 200, retry: { attemptsMax: 1, delayMsInitial: 1, delayMsMax: 1 } }, 5_000],
  ] as const) {
    server.calls.getBalances = 0;
    const { client } = clientWith(overrides, { faults: slow, timeoutMs });
    t.equal((await failure(read(client)))?.code, Code.DeadlineExceeded, `${what} ends the call`);
    await sleep(700);
    t.equal(server.calls.getBalances, 0, `${what}: the delayed request is dropped, not sent late`);
  }
});

t.test("a watched fault file is applied when it appears, changes and goes away", async (t) => {
  const path = `${t.testdir()}/faults.yaml`;
  const errors: unknown[] = [];
  const rules = watchFaultFile(path, "ledger", { checkIntervalMs: 0, onError: (e) => errors.push(e) });
  const client = createServiceClient(LedgerService, { baseUrl: `http://127.0.0.1:${running.port}`, timeoutMs: 5_000, faults: rules });
  await withdraw(client);
  t.equal(server.calls.withdraw, 1, "no file: no faults");
  writeFileSync(path, DRILL);
  t.equal((await failure(withdraw(client)))?.code, Code.PermissionDenied, "the drill applies as soon as the file is there");
  writeFileSync(path, DRILL.replace("grpcStatus: PERMISSION_DENIED", "grpcStatus: NOT_FOUND"));
  utimesSync(path, new Date(), new Date(Date.now() + 5_000)); // a new mtime even within the clock's resolution
  t.equal((await failure(withdraw(client)))?.code, Code.NotFound, "a changed file is read again");
  writeFileSync(path, "kind: [");
  utimesSync(path, new Date(), new Date(Date.now() + 10_000));
  t.equal((await failure(withdraw(client)))?.code, Code.NotFound, "an unreadable file keeps the rules in force");
  t.equal(errors.length, 1, "and is reported");
  rmSync(path);
  await withdraw(client);
  t.equal(server.calls.withdraw, 2, "the drill is lifted when the file goes");
});

t.test("fault files that cannot mean anything are refused", async (t) => {
  t.throws(() => faultsFromIstio(DRILL.replace("200ms", "soon"), "ledger"), /not a duration/);
  t.throws(() => faultsFromIstio(DRILL.replace("PERMISSION_DENIED", "TEAPOT"), "ledger"), /not a gRPC status/);
  t.throws(() => faultsFromIstio(DRILL.replace("grpcStatus: PERMISSION_DENIED", "httpStatus: 503"), "ledger"), /httpStatus/);
});
