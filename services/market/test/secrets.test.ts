// The WebSocket token secret cannot be defaulted outside development mode:
// whoever read the source could sign tokens for the market feed.
import { createTestDatabase, startRefused, startService } from "@kuku/testkit";
import t from "tap";

const DEFAULT = "kuku-dev-market-token-secret-change-me";
const production = { KUKU_ENV: "" };

t.test("refused at start-up: missing, short or the published default", async (t) => {
  const missing = await startRefused("market", { ...production, MARKET_WS_TOKEN_SECRET: "" });
  t.match(missing, /MARKET_WS_TOKEN_SECRET is required: set a generated secret \(or KUKU_ENV=development/);
  const short = await startRefused("market", { ...production, MARKET_WS_TOKEN_SECRET: "short" });
  t.match(short, /MARKET_WS_TOKEN_SECRET must be at least 32 bytes long/);
  const published = await startRefused("market", { ...production, MARKET_WS_TOKEN_SECRET: DEFAULT });
  t.match(published, /MARKET_WS_TOKEN_SECRET is a default secret published in the source/);
});

t.test("development mode may use the default", async (t) => {
  const db = await createTestDatabase("market");
  t.teardown(() => db.drop());
  const market = await startService("market", { database: db.url, env: { KUKU_ENV: "development", MARKET_WS_TOKEN_SECRET: "" } });
  t.ok(market.port > 0, "serving");
  await market.stop();
});
