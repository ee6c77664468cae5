// The JWT secret cannot be defaulted outside development mode: whoever read
// the source could sign tokens for any user. And it rotates by key id.
import { createTestDatabase, startRefused, startService } from "@kuku/testkit";
import { decodeProtectedHeader } from "jose";
import t from "tap";
import { AccessTokens, keyId } from "../src/domain/tokens.js";

const DEFAULT = "kuku-local-development-secret-do-not-deploy";
const production = { KUKU_ENV: "" };

t.test("refused at start-up: missing, short or the published default", async (t) => {
  const missing = await startRefused("gateway", { ...production, GATEWAY_JWT_SECRET: "" });
  t.match(missing, /GATEWAY_JWT_SECRET is required: set a generated secret \(or KUKU_ENV=development/);
  const short = await startRefused("gateway", { ...production, GATEWAY_JWT_SECRET: "short" });
  t.match(short, /GATEWAY_JWT_SECRET must be at least 32 bytes long/);
  const published = await startRefused("gateway", { ...production, GATEWAY_JWT_SECRET: DEFAULT });
  t.match(published, /GATEWAY_JWT_SECRET is a default secret published in the source/);
});

t.test("development mode may use the default", async (t) => {
  const db = await createTestDatabase("gateway");
  t.teardown(() => db.drop());
  const gateway = await startService("gateway", { database: db.url, env: { KUKU_ENV: "development", GATEWAY_JWT_SECRET: "" } });
  t.ok(gateway.port > 0, "serving");
  await gateway.stop();
});

t.test("the JWT key rotates without logging anyone out: old tokens verify until they expire, then the old key can go", async (t) => {
  const [oldKey, newKey] = ["an old signing key that was in use 0123456789", "the new signing key, generated today 0123456789"];
  const before = new AccessTokens(oldKey, 900);
  const issued = await before.issue({ userId: "u-1", sessionId: "s-1" });
  t.equal(decodeProtectedHeader(issued).kid, keyId(oldKey), "a token names its key by a digest");
  t.notMatch(issued, oldKey);

  const rotated = new AccessTokens(newKey, 900, [oldKey]);
  t.same(
    await rotated.verify(issued),
    { kind: "valid", claims: { userId: "u-1", sessionId: "s-1" } },
    "still signed in after the rotation",
  );
  const fresh = await rotated.issue({ userId: "u-1", sessionId: "s-1" });
  t.equal(decodeProtectedHeader(fresh).kid, keyId(newKey), "new tokens are signed with the new key");
  t.same((await before.verify(fresh)).kind, "invalid", "a gateway that never had the new key refuses its tokens");

  const retired = new AccessTokens(newKey, 900);
  t.same((await retired.verify(issued)).kind, "invalid", "once the old key is retired its tokens are refused");
  t.same((await retired.verify(fresh)).kind, "valid");
});

t.test("GATEWAY_JWT_PREVIOUS_SECRETS: each key at least 32 bytes and never the published default", async (t) => {
  const refused = await startRefused("gateway", { GATEWAY_JWT_PREVIOUS_SECRETS: "a key that is long enough 0123456789,short" });
  t.match(refused, /GATEWAY_JWT_PREVIOUS_SECRETS: key 2 must be at least 32 bytes long/);
  const published = await startRefused("gateway", { ...production, GATEWAY_JWT_PREVIOUS_SECRETS: DEFAULT });
  t.match(published, /GATEWAY_JWT_PREVIOUS_SECRETS: key 1 is a default secret published in the source/);
});
