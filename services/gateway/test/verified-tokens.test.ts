// The verified-token memory: a token's verdict is remembered only while the
// token itself is valid, and nothing but a verified token is remembered.
import t from "tap";
import { AccessTokens } from "../src/domain/tokens.js";
import { VerifiedTokens } from "../src/rpc/verified-tokens.js";

t.test("a verified token is remembered until its own expiry, never past it", async (t) => {
  const tokens = new AccessTokens("a-secret-for-this-test-only-0123456789", 60);
  let nowMs = Date.now();
  let verifications = 0;
  const counted = Object.assign(Object.create(tokens) as AccessTokens, {
    verify: (token: string) => {
      verifications++;
      return tokens.verify(token);
    },
  });
  const verified = new VerifiedTokens(counted, () => nowMs);
  const token = await tokens.issue({ userId: "u1", sessionId: "s1" });
  t.same(await verified.verify(token), { kind: "valid", claims: { userId: "u1", sessionId: "s1" } });
  t.same(await verified.verify(token), { kind: "valid", claims: { userId: "u1", sessionId: "s1" } });
  t.equal(verifications, 1, "the second call skipped the signature check");
  nowMs += 61_000;
  t.equal((await verified.verify(token)).kind, "valid", "past the remembered expiry the token is verified again");
  t.equal(verifications, 2);

  const [header, , signature] = token.split(".");
  const forged = `${header}.${Buffer.from(JSON.stringify({ sub: "u2", sid: "s1", exp: 9e9 })).toString("base64url")}.${signature}`;
  t.equal((await verified.verify(forged)).kind, "invalid", "a forged payload is checked, not looked up");
  t.equal((await verified.verify(forged)).kind, "invalid", "and never remembered");
});
