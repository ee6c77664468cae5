// 64-bit integers in Connect JSON: only plain decimal strings (or numbers).
// BigInt() would take "0x10", "+5", " 1" and "0b11" for 16, 5, 1 and 3.
import { create } from "@bufbuild/protobuf";
import { DepositResponseSchema, LedgerService, TransferResponseSchema } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import t from "tap";
import { createLogger } from "../src/logger.js";
import { serviceOf } from "../src/registration.js";
import { startServer } from "../src/server.js";
import { nonDecimalInt64 } from "../src/strict-int64.js";

const ACCOUNT = "3f1c2a9e-8d6b-4c1e-9a7f-0b5e4d3c2a1f";

t.test("the walk: top-level, nested in a list, numbers and decimals pass", async (t) => {
  const transfer = LedgerService.method.transfer.input;
  t.equal(nonDecimalInt64(LedgerService.method.deposit.input, { amountMinor: "0x10" }), "amount_minor");
  t.equal(nonDecimalInt64(LedgerService.method.deposit.input, { amount_minor: "+5" }), "amount_minor", "the proto name too");
  t.equal(nonDecimalInt64(transfer, { legs: [{ amountMinor: "-5" }, { amountMinor: " 1" }] }), "legs[1].amount_minor");
  t.equal(nonDecimalInt64(transfer, { legs: [{ amountMinor: "-5" }, { amountMinor: 5 }] }), undefined);
  t.equal(nonDecimalInt64(LedgerService.method.deposit.input, { amountMinor: "16", requestId: "0x10" }), undefined, "strings stay strings");
});

t.test("through the server: refused before the handler, naming the field; a decimal reaches it", async (t) => {
  let calls = 0;
  const server = await startServer({
    name: "strict-int64-test",
    host: "127.0.0.1",
    port: 0,
    logger: createLogger("strict-int64-test", "silent"),
    services: [
      serviceOf(LedgerService, {
        deposit: async () => {
          calls += 1;
          return create(DepositResponseSchema, {});
        },
        transfer: async () => {
          calls += 1;
          return create(TransferResponseSchema, {});
        },
      }),
    ],
  });
  t.teardown(() => server.shutdown());
  const post = (method: string, body: object) =>
    fetch(`http://127.0.0.1:${server.port}/kuku.ledger.v1.LedgerService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  for (const amountMinor of ["0x10", "+5", " 1", "0b11", "1e3", "016"]) {
    const res = await post("Deposit", { requestId: "r", accountId: ACCOUNT, amountMinor });
    t.equal(res.status, 400, JSON.stringify(amountMinor));
    t.same(await res.json(), {
      code: "invalid_argument",
      message: "amount_minor: a 64-bit integer must be a decimal string or number",
    });
  }
  const legs = [
    { accountId: ACCOUNT, amountMinor: "-16" },
    { accountId: ACCOUNT, amountMinor: "0x10" },
  ];
  t.match(await (await post("Transfer", { requestId: "t", legs })).json(), { message: /^legs\[1\]\.amount_minor: / });
  t.equal(calls, 0, "no handler ran");
  t.equal((await post("Deposit", { requestId: "r", accountId: ACCOUNT, amountMinor: "16" })).status, 200);
  t.equal(calls, 1, "a decimal string goes through");
});
