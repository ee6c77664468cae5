// Korean first, English beside it, as on a Korean broker's screen.
import { OrderState } from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";

export const NAMES_KO: Record<string, string> = {
  "005930": "삼성전자",
  "000660": "SK하이닉스",
  "035420": "NAVER",
  "035720": "카카오",
  "005380": "현대차",
  "051910": "LG화학",
  "068270": "셀트리온",
  "105560": "KB금융",
};

export const STATE_LABELS: Record<OrderState, { text: string; tone: string; hint?: string }> = {
  [OrderState.UNSPECIFIED]: { text: "— Unspecified", tone: "muted" },
  [OrderState.RECEIVED]: { text: "접수 Received", tone: "muted" },
  [OrderState.SENT]: { text: "전송 Sent", tone: "muted" },
  [OrderState.ACCEPTED]: { text: "미체결 Open", tone: "open" },
  [OrderState.PARTIALLY_FILLED]: { text: "부분체결 Partly filled", tone: "open" },
  [OrderState.FILLED]: { text: "체결 Filled", tone: "filled" },
  [OrderState.SETTLED]: { text: "결제완료 Settled", tone: "filled" },
  [OrderState.REJECTED]: { text: "거부 Rejected", tone: "bad" },
  [OrderState.CANCEL_REQUESTED]: { text: "취소요청 Cancelling", tone: "muted" },
  [OrderState.CANCELLED]: { text: "취소 Cancelled", tone: "muted" },
  [OrderState.EXPIRED]: { text: "만료 Expired", tone: "muted" },
  [OrderState.WAITING]: {
    text: "감시중 Waiting",
    tone: "open",
    hint: "스탑 가격 도달 전 — 거래소가 보관 중 · Held by the exchange until the last trade reaches the stop price.",
  },
  [OrderState.UNKNOWN]: {
    text: "확인중 Unknown",
    tone: "warn",
    hint: "거래소 응답 없음 — 자동 대사 중 · The exchange did not answer; the order service is reconciling it with the exchange.",
  },
};

export const OPEN_STATES = new Set([OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED, OrderState.WAITING, OrderState.CANCEL_REQUESTED]);

export const sideLabel = (side: Side) => (side === Side.BUY ? "매수 Buy" : "매도 Sell");
export const TYPE_LABELS: Record<OrderType, string> = {
  [OrderType.UNSPECIFIED]: "—",
  [OrderType.LIMIT]: "지정가 Limit",
  [OrderType.MARKET]: "시장가 Market",
  [OrderType.BEST_OPPOSITE]: "최유리 Best",
  [OrderType.BEST_SAME_SIDE]: "최우선 Top",
  [OrderType.CONDITIONAL_LIMIT]: "조건부 Conditional",
  [OrderType.STOP]: "스탑 Stop",
  [OrderType.STOP_LIMIT]: "스탑지정가 Stop-limit",
};
export const TIF_LABELS: Record<TimeInForce, string> = {
  [TimeInForce.UNSPECIFIED]: "—",
  [TimeInForce.DAY]: "당일 DAY",
  [TimeInForce.IOC]: "IOC",
  [TimeInForce.FOK]: "FOK",
  [TimeInForce.GTC]: "GTC",
};
export const typeLabel = (type: OrderType) => TYPE_LABELS[type];
export const tifLabel = (tif: TimeInForce) => TIF_LABELS[tif];

const krw = new Intl.NumberFormat("ko-KR");
export const won = (amount: bigint) => `${krw.format(amount)}원`;
export const qty = (n: bigint) => `${krw.format(n)}주`;
export const num = (n: bigint) => krw.format(n);
/** A P&L amount with its sign. */
export const signedWon = (amount: bigint) => `${amount > 0n ? "+" : ""}${krw.format(amount)}원`;
/** Basis points as a signed percentage with two decimals. */
export function pct(bp: bigint): string {
  const sign = bp < 0n ? "-" : bp > 0n ? "+" : "";
  const abs = bp < 0n ? -bp : bp;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, "0")}%`;
}
