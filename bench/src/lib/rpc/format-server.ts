// One bare server of `kuku-bench rpc-formats`, in a process of its own (so
// that its CPU time is its own): @grpc/grpc-js, connect-node on HTTP/1.1 or
// HTTP/2, or a plain node:http REST handler, each answering GetBalances and
// PlaceHold from the same plain data (formats.ts). The kind comes as JSON in
// argv[2]; it sends {port} once listening and exits when disconnected.
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { LedgerService } from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { balanceOf, type FormatServer, getBalancesAnswer, heldOf, placeHoldAnswer, REST_PATHS, restJson } from "./formats.js";
import { unaryDefinition } from "./grpc-js.js";

const connectRoutes = connectNodeAdapter({
  routes: (router) => router.service(LedgerService, { getBalances: getBalancesAnswer, placeHold: placeHoldAnswer }),
});

function grpcJs(): Promise<number> {
  const server = new grpc.Server();
  const { getBalances, placeHold } = LedgerService.method;
  server.addService(
    { getBalances: unaryDefinition(getBalances), placeHold: unaryDefinition(placeHold) },
    {
      getBalances: (call: grpc.ServerUnaryCall<Parameters<typeof getBalancesAnswer>[0], unknown>, callback: grpc.sendUnaryData<unknown>) =>
        callback(null, getBalancesAnswer(call.request)),
      placeHold: (call: grpc.ServerUnaryCall<Parameters<typeof placeHoldAnswer>[0], unknown>, callback: grpc.sendUnaryData<unknown>) =>
        callback(null, placeHoldAnswer(call.request)),
    },
  );
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

/** What a REST service written by hand does: route, parse, answer JSON. */
async function restHandler(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  let answer: unknown;
  if (req.method === "GET" && url.pathname === REST_PATHS.balances) {
    answer = { balances: url.searchParams.getAll("account_id").map(balanceOf) };
  } else if (req.method === "POST" && url.pathname === REST_PATHS.holds) {
    const body = JSON.parse(await readBody(req)) as { requestId: string; accountId: string; amountMinor: string; reference: string };
    answer = heldOf({ ...body, amountMinor: BigInt(body.amountMinor) });
  } else {
    res.writeHead(404).end();
    return;
  }
  const json = restJson(answer);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) }).end(json);
}

async function listen(server: http.Server | http2.Http2Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

const kind = JSON.parse(process.argv[2] ?? "{}").kind as Exclude<FormatServer, "ledger">;
const servers = {
  "grpc-js": grpcJs,
  "connect-h1": () => listen(http.createServer(connectRoutes)),
  "connect-h2": () => listen(http2.createServer(connectRoutes)),
  rest: () =>
    listen(
      http.createServer((req, res) =>
        restHandler(req, res).catch((error: unknown) => res.writeHead(400).end(restJson({ error: String(error) }))),
      ),
    ),
};
const port = await servers[kind]();
process.on("disconnect", () => process.exit(0));
process.send?.({ port });
