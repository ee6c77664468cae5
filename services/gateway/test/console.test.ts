// The web console in real Chromium (Debian's, driven by playwright-core)
// against the gateway serving the built web/dist, and real ledger, exchange
// and order processes behind it. Screenshots go to test-artifacts/console/.

import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { type Browser, chromium, type Page } from "playwright-core";
import t, { type Test } from "tap";
import { eventually, marketOrder, signUp, startStack, untilSettled } from "./support/stack.js";

const WEB_DIST = fileURLToPath(new URL("../../../web/dist", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/console/", import.meta.url));
const CHROMIUM = process.env["KUKU_CHROMIUM"] ?? "/usr/bin/chromium";

if (!existsSync(`${WEB_DIST}/index.html`)) throw new Error(`no built console in ${WEB_DIST}: run make build (npm run build -w @kuku/web)`);
if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: make infra installs Debian's chromium (deploy/local/chromium.sh)`);
mkdirSync(ARTIFACTS, { recursive: true });

const stack = await startStack({ gatewayEnv: { GATEWAY_WEB_DIST: WEB_DIST } });
// Playwright gives every launch a fresh temporary profile (user-data-dir) and adds --headless itself.
const browser: Browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
t.teardown(async () => {
  await browser.close();
  await stack.stop();
});

const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
const PASSWORD = "correct horse battery";
const emailA = `alice-${Date.now()}@example.com`;

async function openConsole(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, locale: "ko-KR" });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  // Chromium logs every non-2xx answer ("Failed to load resource"); refusals are expected here, script errors are not.
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(m.text()));
  pageProblems.set(page, problems);
  await page.goto(stack.gatewayUrl);
  return page;
}

const pageProblems = new Map<Page, string[]>();
/** Every scenario ends here: the page threw nothing and logged no error. */
async function closeConsole(t: Test, page: Page): Promise<void> {
  t.same(pageProblems.get(page), [], "no script errors in the page");
  await page.context().close();
}

async function signUpIn(page: Page, email: string): Promise<void> {
  await page.getByTestId("tab-signup").click();
  await page.getByTestId("auth-email").fill(email);
  await page.getByTestId("auth-password").fill(PASSWORD);
  await page.getByTestId("auth-name").fill("앨리스");
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("session-user").filter({ hasText: email }).waitFor();
}

let aliceOrderId = "";

t.test("sign up, deposit, buy at the market, see the fill and the position, place a limit order and cancel it", async (t) => {
  const page = await openConsole();
  await shot(page, "01-sign-up");
  await signUpIn(page, emailA);

  await page.getByTestId("deposit-amount").fill("10000000");
  await page.getByTestId("deposit-submit").click();
  await page.getByTestId("cash-available").filter({ hasText: "10,000,000원" }).waitFor();
  t.pass("deposit shows as available cash");

  await page.getByTestId("ticket-type").selectOption("market");
  await page.getByTestId("ticket-qty").fill("10");
  await page.getByTestId("ticket-submit").click();
  const toast = page.getByTestId("toast").filter({ hasText: "체결 Filled" });
  await toast.waitFor();
  t.match(await toast.textContent(), /삼성전자 005930 매수 Buy 10주 @ [\d,]+원/, "trade confirmation toast");
  const position = page.locator('[data-testid="positions"] tr[data-symbol="005930"]');
  await position.getByTestId("position-qty").filter({ hasText: /^10$/ }).waitFor();
  t.match(await position.getByTestId("position-value").textContent(), /^[\d,]+원$/, "position valued at the last price");
  await page.locator('[data-testid="order-history"] tr[data-state="SETTLED"]').first().waitFor();
  // Live market data: the market maker's book, and the last price moved to our trade's.
  await page.locator('[data-testid="order-book"] tr.ask').first().waitFor();
  await page
    .getByTestId("quote-last")
    .filter({ hasNotText: /^70,000원$/ })
    .waitFor();
  t.pass("order book and last trade price shown");
  await shot(page, "02-filled-position");

  // The ticket checks the KRX tick before sending: 70,050 is not on the 100-won tick.
  await page.getByTestId("ticket-type").selectOption("limit");
  await page.getByTestId("ticket-qty").fill("3");
  await page.getByTestId("ticket-price").fill("70050");
  t.match(await page.getByTestId("ticket-hint").textContent(), /호가단위 오류: 100원 단위/);
  t.ok(await page.getByTestId("ticket-submit").isDisabled(), "an off-tick price cannot be sent");
  await shot(page, "03-tick-check");
  await page.getByTestId("ticket-price").fill("50000");
  await page.getByTestId("ticket-submit").click();
  const openRow = page.locator('[data-testid="open-orders"] tr[data-state="ACCEPTED"]');
  await openRow.waitFor();
  aliceOrderId = (await openRow.getAttribute("data-order-id")) ?? "";
  t.match(aliceOrderId, /^[0-9a-f-]{36}$/);
  await shot(page, "04-open-limit-order");

  await openRow.getByTestId("cancel").click();
  await page.locator(`[data-testid="order-history"] tr[data-order-id="${aliceOrderId}"][data-state="CANCELLED"]`).waitFor();
  t.equal(await page.locator('[data-testid="open-orders"] tr[data-order-id]').count(), 0, "no open orders left");
  await shot(page, "05-cancelled");
  await closeConsole(t, page);
});

t.test("an order in doubt shows as UNKNOWN, then its resolution", async (t) => {
  const page = await openConsole();
  await page.getByTestId("auth-email").fill(emailA);
  await page.getByTestId("auth-password").fill(PASSWORD);
  await page.getByTestId("auth-submit").click();
  await page.getByTestId("session-user").waitFor();
  // The exchange sits on the order past the order service's deadline: it cannot know whether it traded.
  await stack.exchange.setFaultMode({ mode: exchange.FaultMode.DELAY, delayMs: 10_000, percent: 100 });
  try {
    await page.getByTestId("ticket-type").selectOption("market");
    await page.getByTestId("ticket-qty").fill("1");
    await page.getByTestId("ticket-submit").click();
    // Then the exchange goes down, so the reconciler cannot resolve the order
    // yet and the screen shows it in doubt.
    await new Promise((r) => setTimeout(r, 1_000));
    await stack.exchange.setFaultMode({ mode: exchange.FaultMode.DOWN, percent: 100 });
    await page.getByTestId("toast").filter({ hasText: "확인중 Unknown" }).waitFor({ timeout: 15_000 });
    const unknown = page.locator('[data-testid="order-history"] tr[data-state="UNKNOWN"]');
    await unknown.waitFor({ timeout: 15_000 });
    const orderId = await unknown.getAttribute("data-order-id");
    t.match(await unknown.getByTestId("order-state").textContent(), /확인중 Unknown/);
    await shot(page, "06-unknown");
    await stack.exchange.setFaultMode({ mode: exchange.FaultMode.NONE });
    // The reconciler asks the exchange again: the order never got in, so it is closed and its hold released.
    const resolved = page.locator(`[data-testid="order-history"] tr[data-order-id="${orderId}"]:not([data-state="UNKNOWN"])`);
    await resolved.waitFor({ timeout: 30_000 });
    t.match(await resolved.getAttribute("data-state"), /^(REJECTED|CANCELLED|EXPIRED|SETTLED)$/, "resolved to a final state");
    await shot(page, "07-unknown-resolved");
  } finally {
    await stack.exchange.setFaultMode({ mode: exchange.FaultMode.NONE });
  }
  await closeConsole(t, page);
});

/** The gateway's answer to a call the page made, by method name (Connect's JSON over HTTP). */
const isCall = (method: string) => (url: URL | string) => String(url).endsWith(`/kuku.gateway.v1.TradingService/${method}`);

t.test("a click retried after a timeout is the same order: one order, one key", async (t) => {
  const page = await openConsole();
  const email = `retry-${Date.now()}@example.com`;
  await signUpIn(page, email);
  await page.getByTestId("deposit-amount").fill("1000000");
  await page.getByTestId("deposit-submit").click();
  await page.getByTestId("cash-available").filter({ hasText: "1,000,000원" }).waitFor();
  // The first PlaceOrder reaches the gateway and is placed, but its answer never reaches the page.
  const keys: string[] = [];
  await page.route(isCall("PlaceOrder"), async (route) => {
    keys.push(JSON.parse(route.request().postData() ?? "{}").idempotencyKey);
    if (keys.length > 1) return route.continue();
    await route.fetch();
    await route.abort("timedout");
  });
  await page.getByTestId("ticket-type").selectOption("limit");
  await page.getByTestId("ticket-qty").fill("2");
  await page.getByTestId("ticket-price").fill("50000");
  await page.getByTestId("ticket-submit").click();
  await page.getByTestId("toast").filter({ hasText: "응답 없음" }).waitFor();
  await shot(page, "10-no-answer");
  await page.getByTestId("ticket-submit").click();
  await page.getByTestId("toast").filter({ hasText: "접수 Order placed" }).waitFor();
  t.equal(keys.length, 2, "clicked twice");
  t.equal(keys[0], keys[1], "with the same idempotency key");
  const { tokens } = await stack.auth().logIn({ email, password: PASSWORD });
  const { orders } = await stack.trading(tokens!.accessToken).listOrders({});
  t.equal(orders.length, 1, "one order placed");
  await page.locator(`[data-testid="open-orders"] tr[data-order-id="${orders[0]!.orderId}"]`).waitFor();
  t.equal(await page.locator('[data-testid="open-orders"] tr[data-order-id]').count(), 1, "and one shown");
  // A new click on the same form is a new order: the answer came, the key was spent.
  await page.getByTestId("ticket-submit").click();
  await eventually("a second order", async () => (await stack.trading(tokens!.accessToken).listOrders({})).orders.length === 2);
  t.not(keys[2], keys[0], "with a key of its own");
  await closeConsole(t, page);
});

t.test("another user's fill arrives on the stream, without a reload or a poll for orders", async (t) => {
  const page = await openConsole();
  const listCalls: string[] = [];
  page.on("request", (r) => isCall("ListOrders")(r.url()) && listCalls.push(r.url()));
  await signUpIn(page, `buyer-${Date.now()}@example.com`);
  await page.getByTestId("deposit-amount").fill("10000000");
  await page.getByTestId("deposit-submit").click();
  await page.getByTestId("cash-available").filter({ hasText: "10,000,000원" }).waitFor();
  const instrument = (await stack.trading((await signUp(stack, "ref")).tokens.accessToken).listInstruments({})).instruments.find(
    (i) => i.symbol === "005930",
  )!;
  // A bid at the reference price: inside the market maker's spread, it rests.
  await page.getByTestId("ticket-type").selectOption("limit");
  await page.getByTestId("ticket-qty").fill("3");
  await page.getByTestId("ticket-price").fill(String(instrument.referencePriceKrw));
  await page.getByTestId("ticket-submit").click();
  const bid = page.locator('[data-testid="open-orders"] tr[data-state="ACCEPTED"]');
  await bid.waitFor();
  const orderId = (await bid.getAttribute("data-order-id"))!;

  // Another user, through the API: buys 3 shares from the market maker, then sells them into the bid.
  const seller = await signUp(stack, "seller");
  await seller.trading.depositCash({ requestId: randomUUID(), amountKrw: 10_000_000n });
  const order = (side: Side, type: OrderType, limitPriceKrw: bigint): api.PlaceOrderRequest =>
    ({
      idempotencyKey: `key-${randomUUID()}`,
      symbol: "005930",
      side,
      type,
      timeInForce: type === OrderType.MARKET ? TimeInForce.IOC : TimeInForce.DAY,
      quantity: 3n,
      limitPriceKrw,
    }) as api.PlaceOrderRequest;
  const bought = (await seller.trading.placeOrder(order(Side.BUY, OrderType.MARKET, 0n))).order!;
  await untilSettled(seller.trading, bought.orderId);
  const listsBefore = listCalls.length;
  const sold = Date.now();
  await seller.trading.placeOrder(order(Side.SELL, OrderType.LIMIT, instrument.referencePriceKrw));
  const fill = page.getByTestId("toast").filter({ hasText: `3주 @ ${instrument.referencePriceKrw.toLocaleString("ko-KR")}원` });
  await fill.waitFor();
  const seenAfterMs = Date.now() - sold;
  t.match(
    await fill.textContent(),
    /체결 Filled · 삼성전자 005930 매수 Buy 3주 @ [\d,]+원 · 수수료 Fee [\d,]+원/,
    "the fill, at its own price",
  );
  await page.locator(`[data-testid="order-history"] tr[data-order-id="${orderId}"][data-state="SETTLED"]`).waitFor();
  t.ok(seenAfterMs < 5_000, `the fill showed ${seenAfterMs} ms after the sell was placed`);
  t.equal(listCalls.length, listsBefore, "no order list polled: the stream brought it");
  await shot(page, "11-fill-pushed");
  await closeConsole(t, page);
});

t.test("another user cannot cancel Alice's order by its number", async (t) => {
  const page = await openConsole();
  await signUpIn(page, `mallory-${Date.now()}@example.com`);
  await page.getByTestId("cancel-id").fill(aliceOrderId);
  await page.getByTestId("cancel-id-submit").click();
  const refused = page.getByTestId("toast").filter({ hasText: "거부 Refused" });
  await refused.waitFor();
  t.match(await refused.textContent(), /is not an order of yours/);
  await shot(page, "08-foreign-order-refused");
  await closeConsole(t, page);
});

t.test("정정 from the console: the ticket shows the hold and orderable quantity, a stop waits, an open order is amended", async (t) => {
  const page = await openConsole();
  await signUpIn(page, `amend-${Date.now()}@example.com`);
  await page.getByTestId("deposit-amount").fill("1000000");
  await page.getByTestId("deposit-submit").click();
  await page.getByTestId("cash-available").filter({ hasText: "1,000,000원" }).waitFor();
  await page.getByTestId("quote-phase").filter({ hasText: "정규장 Continuous" }).waitFor();
  t.pass("the session phase is shown");

  // A stop buy: held at the upper limit (91,000), so at most 10 shares for 1,000,000 won.
  await page.getByTestId("ticket-type").selectOption("stop");
  t.same(await page.getByTestId("ticket-tif").locator("option").allTextContents(), ["당일 DAY", "GTC"], "the times in force a stop takes");
  await page.getByTestId("ticket-qty").fill("2");
  await page.getByTestId("ticket-stop").fill("90050");
  t.match(await page.getByTestId("ticket-hint").textContent(), /호가단위 오류/, "the stop price is checked against the tick ladder");
  await page.getByTestId("ticket-stop").fill("90000");
  await page.getByTestId("ticket-capacity").filter({ hasText: "주문가능수량 Orderable ≤ 10주" }).waitFor();
  t.match(await page.getByTestId("ticket-capacity").textContent(), /증거금 Hold 182,000원 \+ 수수료 fee/);
  await page.getByTestId("ticket-submit").click();
  await page.locator('[data-testid="open-orders"] tr[data-state="WAITING"]').waitFor();
  t.pass("the stop shows as waiting");
  await shot(page, "11-stop-waiting");

  await page.getByTestId("ticket-type").selectOption("limit");
  await page.getByTestId("ticket-tif").selectOption("gtc");
  await page.getByTestId("ticket-qty").fill("3");
  await page.getByTestId("ticket-price").fill("50000");
  await page.getByTestId("ticket-submit").click();
  const original = page.locator('[data-testid="open-orders"] tr[data-state="ACCEPTED"]');
  await original.waitFor();
  const originalId = (await original.getAttribute("data-order-id")) ?? "";
  await original.getByTestId("amend").click();
  await page.getByTestId("amend-qty").fill("2");
  await page.getByTestId("amend-price").fill("51000");
  await page.getByTestId("amend-submit").click();
  const amended = page.getByTestId("toast").filter({ hasText: "정정 Amended" });
  await amended.waitFor();
  // 2 at 51,000 is within what 3 at 50,000 hold already: the replacement shares that hold and adds nothing.
  t.match(await amended.textContent(), /hold added 0원/, "the amendment re-sizes the hold it shares instead of holding twice");
  await page.locator(`[data-testid="order-history"] tr[data-order-id="${originalId}"][data-state="CANCELLED"]`).waitFor();
  const replacement = page.locator('[data-testid="open-orders"] tr[data-state="ACCEPTED"]');
  await replacement.filter({ hasText: "51,000" }).waitFor();
  t.match(await replacement.textContent(), /GTC/, "the replacement keeps the original's terms");
  await shot(page, "12-amended");
  for (const state of ["WAITING", "ACCEPTED"]) {
    const row = page.locator(`[data-testid="open-orders"] tr[data-state="${state}"]`);
    const orderId = (await row.getAttribute("data-order-id")) ?? "";
    await row.getByTestId("cancel").click();
    await page.locator(`[data-testid="order-history"] tr[data-order-id="${orderId}"][data-state="CANCELLED"]`).waitFor();
  }
  t.equal(await page.locator('[data-testid="open-orders"] tr[data-order-id]').count(), 0, "no open orders left");
  await closeConsole(t, page);
});

t.test("a wrong password is refused with a clear message", async (t) => {
  const page = await openConsole();
  await page.getByTestId("auth-email").fill(emailA);
  await page.getByTestId("auth-password").fill("not the password");
  await page.getByTestId("auth-submit").click();
  const error = page.getByTestId("auth-error").filter({ hasText: "비밀번호가 틀렸습니다" });
  await error.waitFor();
  t.match(await error.textContent(), /E-mail or password is wrong/);
  t.equal(await page.getByTestId("session-user").count(), 0, "not logged in");
  await shot(page, "09-wrong-password");
  await closeConsole(t, page);
});

t.test("the chart shows the traded minute and day, and the console fits a laptop and a phone", async (t) => {
  const page = await openConsole();
  await signUpIn(page, `chart-${Date.now()}@example.com`);
  const chart = page.getByTestId("price-chart");
  // Alice's market buy above traded 005930: its minute is written behind by the market service, then drawn.
  await page.locator('[data-testid="price-chart"][data-candles]:not([data-candles="0"])').waitFor();
  // The quote has arrived (a volume, not "—"): the last price is the last trade's, not the reference price.
  await page
    .getByTestId("volume")
    .filter({ hasText: /^[\d,]+$/ })
    .waitFor();
  const last = (await page.getByTestId("quote-last").textContent())!.replace(/[^\d]/g, "");
  await page.locator(`[data-testid="price-chart"][data-last-close="${last}"]`).waitFor();
  t.pass(`the latest one-minute candle closes at the last price (${last})`);
  t.ok((await chart.locator("canvas").count()) > 0, "drawn on a canvas");
  await page.getByTestId("chart-ONE_DAY").click();
  await page.locator('[data-testid="chart-ONE_DAY"].active').waitFor();
  await page.locator(`[data-testid="price-chart"][data-last-close="${last}"]`).waitFor();
  t.pass("the daily candle closes at the last price too");
  await shot(page, "20-chart-daily");

  for (const [width, height, name] of [
    [1280, 800, "21-laptop"],
    [390, 844, "22-phone"],
  ] as const) {
    await page.setViewportSize({ width, height });
    await page.getByTestId("ticket-submit").waitFor();
    const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
    t.ok(overflow <= 0, `${name}: no sideways scrolling of the page (${overflow} px over)`);
    await shot(page, name);
  }
  await closeConsole(t, page);
});

t.test("reset brings the account back to its starting cash with its open orders cancelled; a second account is its own", async (t) => {
  const page = await openConsole();
  await signUpIn(page, `reset-${Date.now()}@example.com`);
  await page.getByTestId("deposit-amount").fill("3000000");
  await page.getByTestId("deposit-submit").click();
  await page.getByTestId("cash-available").filter({ hasText: "3,000,000원" }).waitFor();
  await page.getByTestId("ticket-type").selectOption("limit");
  await page.getByTestId("ticket-qty").fill("2");
  await page.getByTestId("ticket-price").fill("50000");
  await page.getByTestId("ticket-submit").click();
  const resting = page.locator('[data-testid="open-orders"] tr[data-state="ACCEPTED"]');
  await resting.waitFor();
  const orderId = await resting.getAttribute("data-order-id");
  // The order holds its price, quantity and fee estimate.
  await page
    .getByTestId("cash-held")
    .filter({ hasText: /^1\d\d,\d{3}원$/ })
    .waitFor();

  await page.getByTestId("account-reset-open").click();
  await page.getByTestId("reset-cash").fill("5000000");
  await shot(page, "12-reset-dialog");
  await page.getByTestId("account-reset-submit").click();
  await page.getByTestId("toast").filter({ hasText: "초기화 완료 Reset" }).waitFor();
  await page.getByTestId("cash-total").filter({ hasText: "5,000,000원" }).waitFor();
  await page.getByTestId("cash-held").filter({ hasText: /^0원$/ }).waitFor();
  await page.locator(`[data-testid="order-history"] tr[data-order-id="${orderId}"][data-state="CANCELLED"]`).waitFor();
  t.equal(await page.locator('[data-testid="open-orders"] tr[data-order-id]').count(), 0, "no open orders left");
  t.pass("the account holds its starting cash, its open order cancelled, its history kept");
  await shot(page, "13-after-reset");

  await page.getByTestId("account-new").click();
  await page.getByTestId("account-name").fill("Swing");
  await page.getByTestId("account-start").fill("2000000");
  await page.getByTestId("account-create-submit").click();
  await page.getByTestId("cash-total").filter({ hasText: "2,000,000원" }).waitFor();
  t.equal(await page.locator('[data-testid="order-history"] tr[data-order-id]').count(), 0, "the new account has no orders");
  t.match(await page.getByTestId("account-select").locator("option:checked").textContent(), /^Swing/);
  await page.getByTestId("account-select").selectOption({ index: 0 });
  await page.getByTestId("cash-total").filter({ hasText: "5,000,000원" }).waitFor();
  await page.locator(`[data-testid="order-history"] tr[data-order-id="${orderId}"]`).waitFor();
  t.pass("switching back shows the first account's cash and orders");
  await shot(page, "14-accounts");
  await closeConsole(t, page);
});

t.test("quotes, the book and trades update live from the market's WebSocket, without a reload or a poll", async (t) => {
  const page = await openConsole();
  const polls: string[] = [];
  page.on("request", (r) => ["GetQuote", "GetOrderBook", "GetPortfolio"].some((m) => isCall(m)(r.url())) && polls.push(r.url()));
  const sockets: string[] = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await signUpIn(page, `watcher-${Date.now()}@example.com`);
  await page.locator('[data-testid="order-book"] tr.bid').first().waitFor();
  t.equal((await page.locator('[data-testid="order-book"] tr.ask').count()) > 0, true, "the market maker's asks are shown");
  t.match(sockets[0], /^ws:\/\/127\.0\.0\.1:\d+\/ws\?token=/, "one WebSocket to the market, with a token");
  const before = polls.length;
  await new Promise((r) => setTimeout(r, 3_000));
  t.equal(polls.length, before, "nothing polled while idle");

  const firstTrade = await page.locator('[data-testid="trades"] tr').first().getAttribute("data-trade");
  const buyer = await signUp(stack, "mover");
  await buyer.trading.depositCash({ requestId: randomUUID(), amountKrw: 10_000_000n });
  const { order: bought } = await buyer.trading.placeOrder(marketOrder(Side.BUY, 7n));
  const price = (bought!.filledNotionalKrw / bought!.filledQuantity).toLocaleString("ko-KR");
  const newest = page.locator('[data-testid="trades"] tr').first();
  await eventually("the trade reaches the page", async () => (await newest.getAttribute("data-trade")) !== firstTrade);
  t.match(await newest.textContent(), new RegExp(`${price}.*\\d`), "the trade's price, as the stream sent it");
  await page
    .getByTestId("quote-last")
    .filter({ hasText: `${price}원` })
    .waitFor();
  t.equal(sockets.length, 1, "on the same socket, without a reload");
  t.equal(polls.length, before, "and without a poll");
  await shot(page, "15-live-quotes");
  await closeConsole(t, page);
});

t.test("P&L figures match a hand computation; the order's detail; the statement and its CSV", async (t) => {
  const page = await openConsole();
  const email = `pnl-${Date.now()}@example.com`;
  await signUpIn(page, email);
  await page.getByTestId("deposit-amount").fill("10000000");
  await page.getByTestId("deposit-submit").click();
  await page.getByTestId("cash-available").filter({ hasText: "10,000,000원" }).waitFor();
  await page.getByTestId("ticket-type").selectOption("market");
  await page.getByTestId("ticket-qty").fill("10");
  await page.getByTestId("ticket-submit").click();
  const position = page.locator('[data-testid="positions"] tr[data-symbol="005930"]');
  await position.getByTestId("position-qty").filter({ hasText: /^10$/ }).waitFor();
  // The same user through the API: sells 4 at the market, then reads the fills for the hand computation.
  const { tokens } = await stack.auth().logIn({ email, password: PASSWORD });
  const user = stack.trading(tokens!.accessToken);
  const sell = (await user.placeOrder({ ...marketOrder(Side.SELL, 4n) })).order!;
  await untilSettled(user, sell.orderId);
  await position.getByTestId("position-qty").filter({ hasText: /^6$/ }).waitFor();
  const { fills } = await user.listFills({});
  const buys = fills.filter((f) => f.side === Side.BUY);
  const sells = fills.filter((f) => f.side === Side.SELL);
  const bought = buys.reduce((s, f) => s + f.fill!.priceKrw * f.fill!.quantity + f.fill!.feeKrw, 0n);
  const taken = (bought * 4n) / 10n;
  const realized = sells.reduce((s, f) => s + f.fill!.priceKrw * f.fill!.quantity - f.fill!.feeKrw - f.fill!.taxKrw, 0n) - taken;
  const cost = bought - taken;
  const text = (id: string) => position.getByTestId(id).textContent();
  await position
    .getByTestId("position-realized")
    .filter({ hasText: wonText(realized) })
    .waitFor();
  t.equal(await text("position-cost"), wonText(cost), "cost basis: buys with commission, less the sold share (moving average)");
  t.equal(await text("position-avg"), numText((cost * 2n + 6n) / 12n), "average cost, rounded to the won");
  const last = BigInt((await text("position-last"))!.replaceAll(",", ""));
  t.equal(await text("position-value"), wonText(6n * last));
  t.equal(await text("position-pnl"), wonText(6n * last - cost, true), "unrealised = value - cost");
  t.equal(await text("position-realized"), wonText(realized, true), "realised = proceeds - fee - tax - cost taken");
  t.equal(await page.getByTestId("total-pnl").textContent(), wonText(realized + 6n * last - cost, true), "총손익 = realised + unrealised");
  await shot(page, "12-portfolio-pnl");

  await page.getByTestId("inquiry-search").click();
  await page.locator(`[data-testid="inquiry-results"] tr[data-order-id="${sell.orderId}"]`).click();
  const tax = sells.reduce((s, f) => s + f.fill!.taxKrw, 0n);
  t.ok(tax > 0n, "the sell paid tax");
  await page.getByTestId("detail-tax").first().waitFor();
  t.equal(await page.getByTestId("detail-tax").first().textContent(), wonText(sells[0]!.fill!.taxKrw), "the fill's tax, apart");
  t.match(await page.getByTestId("detail-transitions").textContent(), /결제완료 Settled/);
  await shot(page, "13-order-detail");

  await page.getByTestId("statement-search").click();
  await page.locator('[data-testid="statement-rows"] tr[data-kind="tax"]').first().waitFor();
  t.ok((await page.locator('[data-testid="statement-rows"] tr[data-kind="fee"]').count()) >= 2, "commissions on rows of their own");
  const downloading = page.waitForEvent("download");
  await page.getByTestId("statement-csv").click();
  const csv = readFileSync((await (await downloading).path())!, "utf8").replace(/^\uFEFF/, "");
  const [header, ...lines] = csv.trimEnd().split("\r\n");
  t.equal(header, "occurred_at_kst,kind,asset,amount,balance_after,order_id,execution_id,entry_id");
  const cash = lines.map((l) => l.split(",").map((f) => f.slice(1, -1))).filter((f) => f[2] === "KRW");
  const portfolio = await user.getPortfolio({});
  t.equal(
    cash.reduce((s, f) => s + BigInt(f[3]!), 0n),
    portfolio.cashTotalKrw,
    "the CSV's cash rows add up to the cash",
  );
  t.equal(cash.at(-1)?.[4], String(portfolio.cashTotalKrw), "and its last balance is the cash");
  await shot(page, "14-statement");
  await closeConsole(t, page);
});

const numText = (n: bigint) => n.toLocaleString("ko-KR");
const wonText = (n: bigint, signed = false) => `${signed && n > 0n ? "+" : ""}${numText(n)}원`;
