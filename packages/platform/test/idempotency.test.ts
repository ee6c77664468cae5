// Retry safety comes from the contracts: what each rpc of the called
// services declares, read from the generated descriptors.
import type { DescService } from "@bufbuild/protobuf";
import { ExchangeService } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { MarketDataService } from "@kuku/contracts/kuku/market/v1/market_pb";
import { OrderService } from "@kuku/contracts/kuku/order/v1/order_pb";
import t from "tap";
import { idempotencyOf, mayRepeat } from "../src/idempotency.js";

const declared = (service: DescService) =>
  Object.fromEntries(service.methods.flatMap((m) => (idempotencyOf(m) === undefined ? [] : [[m.localName, idempotencyOf(m)]])));

t.test("each service's retry-safe calls, as its contract declares them", async (t) => {
  const byRequestId = { keyField: "requestId" };
  t.same(declared(LedgerService), {
    openAccount: byRequestId,
    deposit: byRequestId,
    withdraw: byRequestId,
    transfer: byRequestId,
    placeHold: byRequestId,
    releaseHold: byRequestId,
    settleHold: byRequestId,
    // Each operation inside carries its own request id too (what makes a repeat harmless).
    submitBatch: { keyField: "batchId" },
    getSystemAccount: "read",
    getBalances: "read",
    getHold: "read",
    listEntries: "read",
    verifyIntegrity: "read",
  });
  // CloseSession and SetFaultMode are left out on purpose (see exchange.proto).
  t.same(declared(ExchangeService), {
    submitOrder: { keyField: "clientOrderId" },
    // Each order inside carries its own client order id too (what makes a repeat harmless).
    submitOrders: { keyField: "batchId" },
    cancelOrder: { keyField: "clientOrderId" },
    orderStatus: "read",
    listInstruments: "read",
  });
  t.same(declared(OrderService), {
    placeOrder: { keyField: "idempotencyKey" },
    amendOrder: { keyField: "idempotencyKey" },
    cancelOrder: { keyField: "orderId" },
    getOrder: "read",
    listOrders: "read",
    listOrderTransitions: "read",
    listFills: "read",
    getPositionCosts: "read",
    getFeeSchedule: "read",
  });
  // StreamQuotes reads too; the policies leave streams alone whatever they declare.
  t.same(declared(MarketDataService), {
    getQuote: "read",
    getOrderBook: "read",
    listTrades: "read",
    streamQuotes: "read",
    listCandles: "read",
  });
});

t.test("a keyed call may be repeated only when it carries its key", async (t) => {
  t.ok(mayRepeat(LedgerService.method.getBalances, { ownerId: "alice" }));
  t.ok(mayRepeat(LedgerService.method.deposit, { requestId: "dep-1" }));
  t.notOk(mayRepeat(LedgerService.method.deposit, { requestId: "" }));
  t.notOk(mayRepeat(ExchangeService.method.closeSession, {}));
});
