// Log-in as a denial-of-service lever (issue 19): a flood of log-ins from one
// address gets one password check at a time and is refused beyond it, so
// another address still logs in; wrong passwords for one account back off
// whatever address they come from; sign-up refuses guessable passwords and
// checks the e-mail before hashing. A gateway process on its own (no
// downstream needed for these), real PostgreSQL and Redis.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { createTestDatabase } from "@kuku/testkit";
import t from "tap";
import { startGatewayAlone } from "./support/stack.js";

const db = await createTestDatabase("gw_login_abuse");
t.teardown(() => db.drop());

const startGateway = (env: Record<string, string>) => startGatewayAlone(t, db.url, env);

/** A Connect JSON call from `localAddress` (any of 127.0.0.0/8 is this host): what a client at that address sees. */
function call(port: number, method: string, body: object, localAddress = "127.0.0.1") {
  return new Promise<{ status: number; json: { code?: string; message?: string }; retryAfter?: string }>((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: `/kuku.gateway.v1.AuthService/${method}`, method: "POST", localAddress, agent: false },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(text), retryAfter: res.headers["retry-after"] as string }));
      },
    );
    req.on("error", reject);
    req.setHeader("content-type", "application/json");
    req.end(JSON.stringify(body));
  });
}

const PASSWORD = "a walk along the han river";

t.test("a flood from one address: one check at a time for it, the rest refused at once; another address logs in", async (t) => {
  // A dearer hash than the stacks' (log2N 16), two at once, as on two cores.
  const gateway = await startGateway({ GATEWAY_SCRYPT_LOG2_N: "16", GATEWAY_HASH_CONCURRENCY_MAX: "2", GATEWAY_HASH_QUEUE_MAX: "4" });
  const email = `calm-${randomUUID()}@example.com`;
  t.equal((await call(gateway.port, "SignUp", { email, password: PASSWORD, displayName: "calm" }, "127.0.0.2")).status, 200);
  const quiet = Date.now();
  t.equal((await call(gateway.port, "LogIn", { email, password: PASSWORD }, "127.0.0.2")).status, 200);
  const quietMs = Date.now() - quiet;

  const flood = Array.from({ length: 40 }, (_, i) => call(gateway.port, "LogIn", { email: `flood-${i}@example.com`, password: "wrong" }));
  await new Promise((r) => setTimeout(r, 50));
  const during = Date.now();
  const mine = await call(gateway.port, "LogIn", { email, password: PASSWORD }, "127.0.0.2");
  const duringMs = Date.now() - during;
  const codes = (await Promise.all(flood)).map((r) => r.json.code);
  t.equal(mine.status, 200, "the other address logged in during the flood");
  t.ok(duringMs < 3 * quietMs + 1_000, `within 3x a quiet log-in + 1 s: ${duringMs} ms vs ${quietMs} ms quiet`);
  const refused = codes.filter((c) => c === "resource_exhausted").length;
  t.ok(refused >= 30, `the flood was refused at once: ${refused} of 40 RESOURCE_EXHAUSTED`);
  t.same(
    codes.filter((c) => c !== "resource_exhausted" && c !== "unauthenticated"),
    [],
    "nothing else (no INTERNAL, no timeouts)",
  );
});

t.test("wrong passwords for one account back off, from any address; the right one after the wait clears it", async (t) => {
  const gateway = await startGateway({ GATEWAY_SCRYPT_LOG2_N: "12", GATEWAY_LOGIN_FREE_FAILURES: "2" });
  const email = `target-${randomUUID()}@example.com`;
  t.equal((await call(gateway.port, "SignUp", { email, password: PASSWORD, displayName: "target" })).status, 200);
  for (const [i, from] of ["127.0.0.3", "127.0.0.4", "127.0.0.5"].entries()) {
    const r = await call(gateway.port, "LogIn", { email, password: `guess ${i}` }, from);
    t.equal(r.json.code, "unauthenticated", `guess ${i + 1} from ${from}: wrong password`);
  }
  const locked = await call(gateway.port, "LogIn", { email, password: PASSWORD }, "127.0.0.6");
  t.equal(locked.json.code, "resource_exhausted", "the third failure locked the account for a second: even the right password waits");
  t.match(locked.json.message, /too many failed log-ins for this account: retry after 1 s/);
  t.equal(locked.retryAfter, "1");
  await new Promise((r) => setTimeout(r, 1_100));
  t.equal((await call(gateway.port, "LogIn", { email, password: PASSWORD })).status, 200, "after the wait the right password works");
  t.equal((await call(gateway.port, "LogIn", { email, password: "guess again" })).json.code, "unauthenticated");
  t.equal((await call(gateway.port, "LogIn", { email, password: PASSWORD })).status, 200, "the success cleared the count");
});

t.test("sign-up: a guessable password is refused with the reason; a taken e-mail is refused before any hashing", async (t) => {
  const gateway = await startGateway({ GATEWAY_SCRYPT_LOG2_N: "12" });
  for (const password of ["password123", "qwertyuiop", "aaaaaaaaaaaa"]) {
    const r = await call(gateway.port, "SignUp", { email: `weak-${randomUUID()}@example.com`, password, displayName: "weak" });
    t.equal(r.json.code, "invalid_argument", `${password}: refused`);
    t.match(r.json.message, /^password: too easy to guess \(.+\)$/);
  }
  const email = `minjun.kim.${randomUUID().slice(0, 8)}@example.com`;
  const named = await call(gateway.port, "SignUp", { email, password: "kimminjun", displayName: "Minjun Kim" });
  t.equal(named.json.code, "invalid_argument", "a password made of one's own name is refused too");
  t.equal((await call(gateway.port, "SignUp", { email, password: PASSWORD, displayName: "taken" })).status, 200);
  const again = await call(gateway.port, "SignUp", { email, password: PASSWORD, displayName: "again" });
  t.equal(again.json.code, "already_exists");
});
