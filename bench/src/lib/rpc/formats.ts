// The rows of `kuku-bench rpc-formats` (ADR 0002): one ledger method,
// GetBalances or PlaceHold, on the wire as gRPC (protobuf, HTTP/2), Connect
// (JSON or protobuf, HTTP/1.1 or HTTP/2) and plain REST/JSON (node:http),
// answered by bare servers from the same plain data so that only the format
// and the transport differ; and the real ledger on its one port (gRPC through
// grpc-js, Connect JSON over HTTP/1.1).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as api from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import type { LoopSpec } from "./client-loop.js";

export const FORMAT_METHODS = ["get-balances", "place-hold"] as const;
export type FormatMethod = (typeof FORMAT_METHODS)[number];

export type FormatServer = "grpc-js" | "connect-h1" | "connect-h2" | "rest" | "ledger";
export type FormatClient = "grpc-js" | "connect-json-h1" | "connect-binary-h1" | "connect-json-h2" | "rest";

export interface FormatRow {
  readonly name: string;
  readonly server: FormatServer;
  readonly client: FormatClient;
  /** What travels, in words, for the table. */
  readonly wire: string;
}

const row = (server: FormatServer, client: FormatClient, wire: string): FormatRow => ({
  name: `${server}/${client}`,
  server,
  client,
  wire,
});

export const FORMAT_ROWS: readonly FormatRow[] = [
  row("grpc-js", "grpc-js", "gRPC protobuf, HTTP/2"),
  row("connect-h2", "connect-json-h2", "Connect JSON, HTTP/2"),
  row("connect-h1", "connect-binary-h1", "Connect protobuf, HTTP/1.1"),
  row("connect-h1", "connect-json-h1", "Connect JSON, HTTP/1.1"),
  row("rest", "rest", "REST JSON, HTTP/1.1"),
  row("ledger", "grpc-js", "gRPC protobuf, HTTP/2"),
  row("ledger", "connect-json-h1", "Connect JSON, HTTP/1.1"),
];
export const FORMAT_ROW_NAMES = FORMAT_ROWS.map((r) => r.name);

/** What a format client process is told to do. */
export interface FormatClientRun extends LoopSpec {
  readonly client: FormatClient;
  readonly port: number;
  readonly method: FormatMethod;
  readonly accountId: string;
  /** The operator's token, for the real ledger (ADR 0021); the bare servers need none. */
  readonly authorization?: string;
}

/** A representative balance, as the ledger would answer it. */
export function balanceOf(accountId: string) {
  return {
    accountId,
    ownerId: "5b1d3c1e-8f2a-4c59-9d0b-6a7e2f4c8b13",
    asset: "KRW",
    kind: api.AccountKind.USER,
    totalMinor: 50_000_000n,
    heldMinor: 1_250_000n,
    availableMinor: 48_750_000n,
    version: 4_812n,
  };
}

/** A hold as the ledger answers PlaceHold, and the balance after it. */
export function heldOf(request: { requestId: string; accountId: string; amountMinor: bigint; reference: string }) {
  const balance = balanceOf(request.accountId);
  return {
    hold: {
      holdId: "0d9f8e7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c",
      accountId: request.accountId,
      asset: "KRW",
      amountMinor: request.amountMinor,
      settledMinor: 0n,
      releasedMinor: 0n,
      remainingMinor: request.amountMinor,
      status: api.HoldStatus.OPEN,
      reference: request.reference,
      createdAt: new Date(),
    },
    balance: {
      ...balance,
      heldMinor: balance.heldMinor + request.amountMinor,
      availableMinor: balance.availableMinor - request.amountMinor,
    },
  };
}

export const getBalancesAnswer = (req: { accountIds: readonly string[] }) =>
  create(api.GetBalancesResponseSchema, { balances: req.accountIds.map(balanceOf) });

export function placeHoldAnswer(req: api.PlaceHoldRequest): api.PlaceHoldResponse {
  const { hold, balance } = heldOf(req);
  return create(api.PlaceHoldResponseSchema, { hold: { ...hold, createdAt: timestampFromDate(hold.createdAt) }, balance });
}

/** The REST body: plain JSON, money as decimal strings (a JSON number cannot hold every int64). */
export const restJson = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

/** The REST resources: GET /v1/balances?account_id=…, POST /v1/holds with a JSON body. */
export const REST_PATHS = { balances: "/v1/balances", holds: "/v1/holds" } as const;
