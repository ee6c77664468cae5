// The instrument master's cache: read again when old, one read at a time,
// and the last master read when the exchange cannot answer.
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { type ExchangeService, InstrumentSchema, ListInstrumentsResponseSchema } from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import t from "tap";
import { ExchangeInstruments } from "../src/app/instruments.js";

/** An exchange whose ListInstruments answers from `next` (a reference price, or an error), counting calls. */
function exchange(next: () => bigint | Error) {
  const calls = { n: 0 };
  const client = {
    listInstruments: async () => {
      calls.n++;
      const answer = next();
      if (answer instanceof Error) throw answer;
      return create(ListInstrumentsResponseSchema, {
        instruments: [create(InstrumentSchema, { symbol: "005930", referencePriceKrw: answer })],
      });
    },
  } as unknown as Client<typeof ExchangeService>;
  return { client, calls };
}

t.test("read once while fresh, again when old; the last read answers while the exchange is down", async (t) => {
  let answer: bigint | Error = 70_000n;
  const { client, calls } = exchange(() => answer);
  const instruments = new ExchangeInstruments(client, 20, 1_000);
  const [a, b] = await Promise.all([instruments.get("005930"), instruments.get("005930")]);
  t.equal(a?.referencePriceKrw, 70_000n);
  t.equal(b?.referencePriceKrw, 70_000n);
  t.equal(calls.n, 1, "one read for both");
  await new Promise((r) => setTimeout(r, 30));
  answer = 71_000n;
  t.equal((await instruments.get("005930"))?.referencePriceKrw, 71_000n, "an old master is read again: the close rolled the reference");
  await new Promise((r) => setTimeout(r, 30));
  answer = new Error("exchange down");
  t.equal((await instruments.get("005930"))?.referencePriceKrw, 71_000n, "the exchange down: the last master read");
  const before = calls.n;
  await instruments.get("005930");
  t.equal(calls.n, before + 1, "a failed read is not kept: the next order asks again");
  answer = 72_000n;
  t.equal((await instruments.get("005930"))?.referencePriceKrw, 72_000n, "back: the fresh master");
});

t.test("never read: the exchange's failure is the answer", async (t) => {
  const { client } = exchange(() => new Error("exchange down"));
  await t.rejects(new ExchangeInstruments(client, 1_000, 1_000).get("005930"), /exchange down/);
});
