// A client of `kuku-bench rpc-formats`, in a process of its own (so that its
// CPU time and socket bytes are its own): @grpc/grpc-js, connect's Connect
// transport (JSON or protobuf, HTTP/1.1 or HTTP/2), or node:http with a
// keep-alive agent speaking REST/JSON. The spec comes as JSON in argv[2];
// client-loop.ts measures and reports.
import http from "node:http";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { LedgerService, PlaceHoldRequestSchema } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { runClientLoop } from "./client-loop.js";
import { type FormatClientRun, REST_PATHS, restJson } from "./formats.js";
import { unaryCall, unaryDefinition } from "./grpc-js.js";

type Call = () => Promise<unknown>;

const spec = JSON.parse(process.argv[2] ?? "{}") as FormatClientRun;
let sequence = 0;
// PlaceHold is keyed by its request id: every call a new hold.
const holdRequest = () =>
  create(PlaceHoldRequestSchema, {
    requestId: `rpc-formats-${process.pid}-${sequence++}`,
    accountId: spec.accountId,
    amountMinor: 100n,
    reference: "rpc-formats",
  });
const balancesRequest = { accountIds: [spec.accountId] };

// Sent on every call when the server asks for an identity (the real ledger).
const authorization: Record<string, string> = spec.authorization === undefined ? {} : { authorization: spec.authorization };

function grpcJsCall(): Call {
  const client = new grpc.Client(`127.0.0.1:${spec.port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(authorization)) metadata.set(key, value);
  const { getBalances, placeHold } = LedgerService.method;
  if (spec.method === "place-hold") return () => unaryCall(client, unaryDefinition(placeHold), holdRequest(), metadata);
  const method = unaryDefinition(getBalances);
  const request = create(getBalances.input, balancesRequest);
  return () => unaryCall(client, method, request, metadata);
}

function connectCall(httpVersion: "1.1" | "2", useBinaryFormat: boolean): Call {
  const client = createClient(
    LedgerService,
    createConnectTransport({ baseUrl: `http://127.0.0.1:${spec.port}`, httpVersion, useBinaryFormat }),
  );
  const options = { headers: authorization };
  return spec.method === "place-hold" ? () => client.placeHold(holdRequest(), options) : () => client.getBalances(balancesRequest, options);
}

function restCall(): Call {
  const agent = new http.Agent({ keepAlive: true });
  const send = (method: string, path: string, body?: string) =>
    new Promise<unknown>((resolve, reject) => {
      const headers =
        body === undefined
          ? authorization
          : { ...authorization, "content-type": "application/json", "content-length": Buffer.byteLength(body) };
      const req = http.request({ host: "127.0.0.1", port: spec.port, method, path, agent, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
      });
      req.on("error", reject);
      req.end(body);
    });
  if (spec.method === "place-hold") {
    return () => {
      const { requestId, accountId, amountMinor, reference } = holdRequest();
      return send("POST", REST_PATHS.holds, restJson({ requestId, accountId, amountMinor, reference }));
    };
  }
  const path = `${REST_PATHS.balances}?account_id=${encodeURIComponent(spec.accountId)}`;
  return () => send("GET", path);
}

const calls: Record<FormatClientRun["client"], () => Call> = {
  "grpc-js": grpcJsCall,
  "connect-json-h1": () => connectCall("1.1", false),
  "connect-binary-h1": () => connectCall("1.1", true),
  "connect-json-h2": () => connectCall("2", false),
  rest: restCall,
};
await runClientLoop(spec, calls[spec.client]());
