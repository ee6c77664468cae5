// The JWT secret cannot be defaulted outside development mode: whoever read
// the source could sign tokens for any user.
import { createTestDatabase, startRefused, startService } from "@kuku/testkit";
import t from "tap";

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
