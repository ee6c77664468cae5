// Hostile input at the gateway's door: forged, expired and algorithm-confused
// tokens, oversized and malformed bodies, foreign origins, and a seeded fuzz
// of every public procedure. None may reach INTERNAL or change any state.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { connectCall } from "@kuku/testkit";
import { SignJWT, UnsecuredJWT } from "jose";
import t from "tap";
import { signUp, startStack, stateOf } from "./support/stack.js";

const SECRET = "security-test-secret-of-at-least-32-bytes";
const stack = await startStack({
  gatewayEnv: {
    GATEWAY_JWT_SECRET: SECRET,
    // The fuzz sends a few thousand calls from one address; rate limits have their own test.
    GATEWAY_RATE_IP_BURST: "100000",
    GATEWAY_RATE_USER_BURST: "100000",
    GATEWAY_CORS_ORIGINS: "http://console.example",
  },
});
t.teardown(() => stack.stop());

const victim = await signUp(stack, "victim");
await victim.trading.depositCash({ requestId: "seed", amountKrw: 1_000_000n });

const snapshot = () => stateOf(stack, victim);

/** The server-streaming procedures' paths: their requests go enveloped (application/connect+json, +proto). */
const streamingPaths = new Set(
  [...api.AuthService.methods, ...api.TradingService.methods]
    .filter((m) => m.methodKind === "server_streaming")
    .map((m) => `/${m.parent.typeName}/${m.name}`),
);

async function post(path: string, body: NonNullable<RequestInit["body"]>, headers: Record<string, string>) {
  if (streamingPaths.has(path)) {
    const { "content-type": contentType, ...rest } = headers;
    const codec = contentType === "application/proto" ? "proto" : "json";
    const answer = await connectCall(`${stack.gatewayUrl}${path}`, body as string | Uint8Array, { codec, streaming: true, headers: rest });
    return { ...answer, headers: new Headers() };
  }
  const res = await fetch(`${stack.gatewayUrl}${path}`, { method: "POST", body, headers });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { code?: string }).code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code, text, headers: res.headers };
}

const key = new TextEncoder().encode(SECRET);
const claims = (sub: string) =>
  new SignJWT({ sid: randomUUID() }).setSubject(sub).setIssuer("kuku-gateway").setAudience("kuku-console").setIssuedAt();
const badTokens: Record<string, () => Promise<string>> = {
  "alg none": async () =>
    new UnsecuredJWT({ sid: randomUUID() })
      .setSubject(victim.userId)
      .setIssuer("kuku-gateway")
      .setAudience("kuku-console")
      .setExpirationTime("5m")
      .encode(),
  "HS512 with the right key (wrong algorithm)": () =>
    claims(victim.userId).setProtectedHeader({ alg: "HS512" }).setExpirationTime("5m").sign(key),
  "signed with another key": () =>
    claims(victim.userId)
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("x".repeat(40))),
  expired: () =>
    claims(victim.userId)
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key),
  "wrong audience": () =>
    claims(victim.userId).setProtectedHeader({ alg: "HS256" }).setAudience("someone-else").setExpirationTime("5m").sign(key),
  "victim's token with the subject edited": async () => {
    const [h, p, s] = victim.tokens.accessToken.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    return [h, Buffer.from(JSON.stringify({ ...payload, sub: randomUUID() })).toString("base64url"), s].join(".");
  },
};

const tradingMethods = api.TradingService.methods.map((m) => m.name);
const validBodies: Record<string, object> = {
  DepositCash: { requestId: `r-${randomUUID()}`, amountKrw: "1000" },
  GetPortfolio: {},
  PlaceOrder: {
    idempotencyKey: `k-${randomUUID()}`,
    symbol: "005930",
    side: "SIDE_BUY",
    type: "ORDER_TYPE_MARKET",
    timeInForce: "TIME_IN_FORCE_IOC",
    quantity: "1",
  },
  CancelOrder: { orderId: randomUUID() },
  AmendOrder: { idempotencyKey: `k-${randomUUID()}`, orderId: randomUUID(), quantity: "1", limitPriceKrw: "70000" },
  ListOrders: {},
  GetQuote: { symbol: "005930" },
  ListInstruments: {},
  GetOrderBook: { symbol: "005930" },
  ListCandles: { symbol: "005930" },
  StreamOrderUpdates: {},
  GetOrder: { orderId: randomUUID() },
  ListFills: {},
  GetStatement: { from: "2026-01-01T00:00:00Z", before: "2026-02-01T00:00:00Z" },
  GetFeeSchedule: {},
};

t.test("every TradingService call refuses missing, malformed, forged, expired and alg-none tokens", async (t) => {
  const before = await snapshot();
  t.same(Object.keys(validBodies).sort(), [...tradingMethods].sort(), "a body for every procedure");
  const headerCases: Record<string, string | undefined> = {
    missing: undefined,
    "not bearer": "Basic dXNlcjpwYXNz",
    "bearer garbage": "Bearer not-a-jwt",
  };
  for (const [name, make] of Object.entries(badTokens)) headerCases[name] = `Bearer ${await make()}`;
  for (const method of tradingMethods) {
    for (const [name, authorization] of Object.entries(headerCases)) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (authorization !== undefined) headers["authorization"] = authorization;
      const res = await post(`/kuku.gateway.v1.TradingService/${method}`, JSON.stringify(validBodies[method]), headers);
      t.equal(res.code, "unauthenticated", `${method}: ${name}`);
    }
  }
  t.same(await snapshot(), before, "no state changed");
});

t.test("error messages say what is wrong with the token", async (t) => {
  const expired = await post("/kuku.gateway.v1.TradingService/GetPortfolio", "{}", {
    "content-type": "application/json",
    authorization: `Bearer ${await badTokens["expired"]!()}`,
  });
  t.match(expired.text, /expired/);
  const none = await post("/kuku.gateway.v1.TradingService/GetPortfolio", "{}", {
    "content-type": "application/json",
    authorization: `Bearer ${await badTokens["alg none"]!()}`,
  });
  t.match(none.text, /rejected/);
});

t.test("oversized, malformed JSON and malformed protobuf bodies: a clear error and no state change", async (t) => {
  const before = await snapshot();
  const auth = { authorization: `Bearer ${victim.tokens.accessToken}` };
  const big = await post(
    "/kuku.gateway.v1.TradingService/DepositCash",
    JSON.stringify({ requestId: "x".repeat(100_000), amountKrw: "1" }),
    { "content-type": "application/json", ...auth },
  );
  t.equal(big.code, "resource_exhausted", "over readMaxBytes");
  t.match(big.text, /larger than configured readMaxBytes|message size/);
  const bigSignUp = await post(
    "/kuku.gateway.v1.AuthService/SignUp",
    JSON.stringify({ email: "a@b.co", password: "p".repeat(200_000), displayName: "x" }),
    { "content-type": "application/json" },
  );
  t.equal(bigSignUp.code, "resource_exhausted", "public procedures too");
  const json = await post("/kuku.gateway.v1.TradingService/DepositCash", '{"requestId": "x", "amountKrw": ', {
    "content-type": "application/json",
    ...auth,
  });
  t.equal(json.code, "invalid_argument");
  const wrongType = await post("/kuku.gateway.v1.TradingService/DepositCash", '{"requestId": "x", "amountKrw": "ten"}', {
    "content-type": "application/json",
    ...auth,
  });
  t.equal(wrongType.code, "invalid_argument");
  const proto = await post("/kuku.gateway.v1.TradingService/DepositCash", new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x01]), {
    "content-type": "application/proto",
    ...auth,
  });
  t.equal(proto.code, "invalid_argument");
  const fields = await victim.trading.depositCash({ requestId: "", amountKrw: -5n }).catch((e: unknown) => ConnectError.from(e));
  t.equal((fields as ConnectError).code, Code.InvalidArgument);
  t.match((fields as ConnectError).rawMessage, /request_id/);
  t.match((fields as ConnectError).rawMessage, /amount_krw/);
  t.same(await snapshot(), before);
});

t.test("CORS: only the console's origin may call cross-origin", async (t) => {
  const preflight = (origin: string) =>
    fetch(`${stack.gatewayUrl}/kuku.gateway.v1.AuthService/LogIn`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version",
      },
    });
  const allowed = await preflight("http://console.example");
  t.equal(allowed.status, 204);
  t.equal(allowed.headers.get("access-control-allow-origin"), "http://console.example");
  t.match(allowed.headers.get("access-control-allow-headers") ?? "", /Authorization/);
  const foreign = await preflight("http://evil.example");
  t.equal(foreign.status, 403);
  t.equal(foreign.headers.get("access-control-allow-origin"), null);
  const simple = await post("/kuku.gateway.v1.TradingService/ListInstruments", "{}", {
    "content-type": "application/json",
    origin: "http://evil.example",
    authorization: `Bearer ${victim.tokens.accessToken}`,
  });
  t.equal(simple.headers.get("access-control-allow-origin"), null, "no CORS header for a foreign origin: the browser hides the answer");
});

t.test("static files: the console, never anything outside web/dist", async (t) => {
  const raw = (path: string, method = "GET") =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      // http.request sends the path as written: no client-side normalisation of "..".
      const req = http.request({ host: "127.0.0.1", port: stack.gateway.port, path, method }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.once("error", reject);
      req.end();
    });
  const index = await raw("/");
  t.equal(index.status, 200);
  t.match(index.body, /쿠쿠 증권/);
  t.match(index.headers["content-security-policy"] ?? "", /default-src 'self'/);
  t.equal(index.headers["x-content-type-options"], "nosniff");
  for (const path of ["/../package.json", "/%2e%2e/%2e%2e/package.json", "/..%2f..%2fpackage.json", "/assets/../../src/main.ts"]) {
    const res = await raw(path);
    t.notMatch(res.body, /"name"|import /, `${path} does not leave web/dist`);
  }
  t.equal((await raw("/", "DELETE")).status, 405);
});

// A small deterministic PRNG, so a failing case can be replayed.
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test("fuzz: random protobuf bytes and hostile JSON against every procedure", async (t) => {
  const before = await snapshot();
  const random = prng(20261125);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  // Values that are wrong for every field they may land in, so no fuzz case is a valid request that may change state.
  const hostile = [
    null,
    true,
    -1,
    0,
    1.5,
    "",
    "x".repeat(3000),
    "1e400",
    "-9223372036854775809",
    "\u0000\ud800",
    "<script>",
    [],
    [1, "a"],
    { a: { b: {} } },
    "SIDE_BOGUS",
    -0.0,
    // biome-ignore lint/correctness/noPrecisionLoss: a number JSON cannot carry is the point of this input
    1e309,
  ];
  const procedures = [
    ...api.AuthService.methods.map((m) => ["AuthService", m] as const),
    ...api.TradingService.methods.map((m) => ["TradingService", m] as const),
  ];
  const seen = new Map<string, number>();
  for (const [service, method] of procedures) {
    const fieldNames = method.input.fields.map((f) => f.jsonName);
    for (let i = 0; i < 40; i += 1) {
      const headers: Record<string, string> = {};
      if (random() < 0.7) headers["authorization"] = `Bearer ${victim.tokens.accessToken}`;
      let body: Uint8Array | string;
      if (random() < 0.5) {
        headers["content-type"] = "application/proto";
        body = Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      } else {
        headers["content-type"] = "application/json";
        const object: Record<string, unknown> = {};
        for (const name of fieldNames) if (random() < 0.8) object[name] = pick(hostile);
        body = random() < 0.15 ? JSON.stringify(object).slice(0, Math.floor(random() * 20)) : JSON.stringify(object);
      }
      const res = await post(`/kuku.gateway.v1.${service}/${method.name}`, body, headers);
      seen.set(res.code ?? `http ${res.status}`, (seen.get(res.code ?? `http ${res.status}`) ?? 0) + 1);
      if (res.status >= 500 || res.code === "internal" || res.code === "unknown") {
        t.fail(
          `${method.name} answered ${res.status} ${res.text} to ${typeof body === "string" ? body : Buffer.from(body).toString("hex")}`,
        );
      }
    }
  }
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(seen))}`);
  t.ok(seen.has("invalid_argument"), "bad input is named as such");
  t.same(await snapshot(), before, "no state changed");
});
