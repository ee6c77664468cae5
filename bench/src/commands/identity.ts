// What service identity costs per call (ADR 0021), in this process: minting
// a token (once per target per four minutes on a client), verifying one the
// first time a server sees it (an Ed25519 signature), and the server
// interceptor's per-call cost once the token is known, against a call with
// no identity at all (a public rpc passes through it untouched).
import { create, type DescMethod } from "@bufbuild/protobuf";
import type { Interceptor, UnaryResponse } from "@connectrpc/connect";
import { Health } from "@kuku/contracts/grpc/health/v1/health_pb";
import { GetBalancesResponseSchema, LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { generateIdentityKeys, identityFrom, identityServerInterceptor, mintToken, OPERATOR } from "@kuku/platform";
import { unaryRequestOf } from "@kuku/testkit";
import { command, int } from "../lib/command.js";
import { measureSequential as measure, table } from "../lib/stats.js";

const request = (method: DescMethod, authorization: string | undefined) =>
  unaryRequestOf(method, authorization === undefined ? {} : { authorization });

export const identity = command({
  name: "identity",
  summary: "service identity per call: token mint, first verify, the cached check, against none (ADR 0021)",
  options: { calls: int("sequential operations per row", 20_000) },
  async run({ calls }) {
    const { keys, trust } = generateIdentityKeys(["ledger", "order", OPERATOR]);
    const ledger = identityFrom("ledger", keys["ledger"]!, trust);
    const order = identityFrom("order", keys["order"]!, trust);
    const answer = { stream: false, message: create(GetBalancesResponseSchema, {}) } as unknown as UnaryResponse;
    const gate: Interceptor = identityServerInterceptor(ledger);
    const next = gate(async () => answer);
    const token = await mintToken(order, LedgerService.typeName);
    const method = LedgerService.method.getBalances;
    const rows = [
      await measure("no identity: a public rpc through the interceptor", calls, () => next(request(Health.method.check, undefined))),
      await measure("cached: a known token, callers checked", calls, () => next(request(method, `Bearer ${token}`))),
      await measure("mint a token (client, once per target per 4 min)", Math.min(calls, 5_000), () =>
        mintToken(order, LedgerService.typeName),
      ),
      // A fresh interceptor each time: nothing remembered, so the signature is checked.
      await measure("first sight of a token: Ed25519 verify + claims", Math.min(calls, 5_000), () =>
        identityServerInterceptor(ledger)(async () => answer)(request(method, `Bearer ${token}`)),
      ),
    ];
    console.log(`identity — ${calls} sequential calls per row in one process (Node ${process.version})`);
    console.log(table(["operation", "ops/s", "p50 µs", "p99 µs"], rows));
  },
});
