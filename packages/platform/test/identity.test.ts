// The identity interceptors on their own (the real-process checks are in
// services/order/test/identity.test.ts): which calls carry a service token,
// and what the server makes of the tokens it is shown.
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { Health } from "@kuku/contracts/grpc/health/v1/health_pb";
import { TradingService } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { unaryRequestOf } from "@kuku/testkit";
import t from "tap";
import {
  callersOf,
  generateIdentityKeys,
  identityClientInterceptor,
  identityFrom,
  identityServerInterceptor,
  mintToken,
  OPERATOR,
} from "../src/identity.js";
import { errorMappingInterceptor } from "../src/interceptors.js";
import { createLogger } from "../src/logger.js";

const { keys, trust } = generateIdentityKeys(["ledger", "order", "gateway", OPERATOR]);
const as = (name: string) => identityFrom(name, keys[name]!, trust);

const request = (method: DescMethod, authorization?: string) =>
  unaryRequestOf(method, authorization === undefined ? {} : { authorization });
const answer = { stream: false } as unknown as UnaryResponse;

t.test("the client sends its token on rpcs that name callers, and leaves a public rpc's authorization alone", async (t) => {
  const seen: (string | null)[] = [];
  const send = identityClientInterceptor(as("order"))(async (req) => {
    seen.push(req.header.get("authorization"));
    return answer;
  });
  await send(request(LedgerService.method.placeHold));
  await send(request(TradingService.method.placeOrder, "Bearer a-user's-access-token"));
  await send(request(Health.method.check));
  t.match(seen[0], /^Bearer ey/, "the ledger's PlaceHold: a service token");
  t.equal(seen[1], "Bearer a-user's-access-token", "the gateway's PlaceOrder: the user's token, untouched");
  t.equal(seen[2], null, "health: nothing added");
});

t.test("the server: callers from the contract; no token, a foreign key, a wrong caller, a token for another service", async (t) => {
  t.same(callersOf(LedgerService.method.placeHold), ["order"]);
  t.equal(callersOf(Health.method.check), undefined);
  const gate = errorMappingInterceptor(createLogger("identity-test", "silent"));
  const ledger = gate(identityServerInterceptor(as("ledger"))(async () => answer));
  const code = (req: UnaryRequest) =>
    ledger(req).then(
      () => "OK",
      (e: unknown) => Code[ConnectError.from(e).code],
    );
  const bearer = async (name: string, audience = LedgerService.typeName) => `Bearer ${await mintToken(as(name), audience)}`;
  const placeHold = LedgerService.method.placeHold;
  t.equal(await code(request(placeHold)), "Unauthenticated", "no token");
  t.equal(await code(request(placeHold, await bearer("order"))), "OK", "order may place holds");
  t.equal(await code(request(placeHold, await bearer(OPERATOR))), "OK", "the operator may call any rpc that names callers");
  t.equal(await code(request(placeHold, await bearer("gateway"))), "PermissionDenied", "the gateway may not");
  t.equal(
    await code(request(placeHold, await bearer("order", "kuku.exchange.v1.ExchangeService"))),
    "Unauthenticated",
    "a token for another service",
  );
  const stranger = generateIdentityKeys(["order"]);
  const forged = `Bearer ${await mintToken(identityFrom("order", stranger.keys["order"]!, stranger.trust), LedgerService.typeName)}`;
  t.equal(await code(request(placeHold, forged)), "Unauthenticated", "a key calling itself order that the ledger does not trust");
  t.equal(await code(request(Health.method.check)), "OK", "a public rpc needs nothing");
});
