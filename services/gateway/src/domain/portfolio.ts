// The portfolio's figures (ADR 0024): the ledger's cash and shares valued at
// the last price, against the cost basis the order service folds from the
// settled fills (moving average). Pure arithmetic on bigint won.
import { tradingDay } from "@kuku/platform/krx";

export interface LedgerPosition {
  readonly symbol: string;
  readonly quantity: bigint;
  readonly heldQuantity: bigint;
}

export interface FillsCost {
  readonly symbol: string;
  readonly quantity: bigint;
  readonly costBasisKrw: bigint;
  readonly realizedPnlKrw: bigint;
}

export interface ValuedPosition extends LedgerPosition {
  readonly lastPriceKrw: bigint;
  readonly valuationKrw: bigint;
  readonly costBasisKrw: bigint;
  readonly averageCostKrw: bigint;
  readonly unrealizedPnlKrw: bigint;
  readonly returnBp: bigint;
  readonly realizedPnlKrw: bigint;
  readonly costReconciled: boolean;
}

export interface PortfolioTotals {
  readonly marketValueKrw: bigint;
  readonly costBasisKrw: bigint;
  readonly unrealizedPnlKrw: bigint;
  readonly realizedPnlKrw: bigint;
  readonly totalPnlKrw: bigint;
  readonly totalAssetsKrw: bigint;
}

/** a / b rounded half away from zero; 0 when b is 0. */
function roundedDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) return 0n;
  const q = a / b;
  const r = a % b;
  const twice = (r < 0n ? -r : r) * 2n;
  return twice >= (b < 0n ? -b : b) ? q + (a < 0n === b < 0n ? 1n : -1n) : q;
}

/**
 * Every symbol the ledger or the fills know: a position sold out keeps its
 * realised P&L on the list, with nothing left to value.
 */
/** `costsKnown` false: the fills could not be read; every cost and P&L figure is zero rather than a guess. */
export function valuePositions(
  ledger: readonly LedgerPosition[],
  costs: readonly FillsCost[],
  lastPriceOf: (symbol: string) => bigint,
  costsKnown = true,
): ValuedPosition[] {
  const costOf = new Map(costs.map((c) => [c.symbol, c]));
  const symbols = [...new Set([...ledger.map((l) => l.symbol), ...costs.map((c) => c.symbol)])].sort();
  return symbols.flatMap((symbol) => {
    const held = ledger.find((l) => l.symbol === symbol) ?? { symbol, quantity: 0n, heldQuantity: 0n };
    const cost = costOf.get(symbol) ?? { symbol, quantity: 0n, costBasisKrw: 0n, realizedPnlKrw: 0n };
    if (held.quantity === 0n && held.heldQuantity === 0n && cost.realizedPnlKrw === 0n && cost.quantity === 0n) return [];
    const lastPriceKrw = lastPriceOf(symbol);
    const valuationKrw = held.quantity * lastPriceKrw;
    const unrealizedPnlKrw = held.quantity === 0n || !costsKnown ? 0n : valuationKrw - cost.costBasisKrw;
    return [
      {
        ...held,
        lastPriceKrw,
        valuationKrw,
        costBasisKrw: cost.costBasisKrw,
        averageCostKrw: roundedDiv(cost.costBasisKrw, cost.quantity),
        unrealizedPnlKrw,
        returnBp: cost.costBasisKrw === 0n ? 0n : (unrealizedPnlKrw * 10_000n) / cost.costBasisKrw,
        realizedPnlKrw: cost.realizedPnlKrw,
        costReconciled: cost.quantity === held.quantity,
      },
    ];
  });
}

export function totalsOf(cashTotalKrw: bigint, positions: readonly ValuedPosition[]): PortfolioTotals {
  const sum = (f: (p: ValuedPosition) => bigint) => positions.reduce((s, p) => s + f(p), 0n);
  const marketValueKrw = sum((p) => p.valuationKrw);
  const unrealizedPnlKrw = sum((p) => p.unrealizedPnlKrw);
  const realizedPnlKrw = sum((p) => p.realizedPnlKrw);
  return {
    marketValueKrw,
    costBasisKrw: sum((p) => (p.quantity === 0n ? 0n : p.costBasisKrw)),
    unrealizedPnlKrw,
    realizedPnlKrw,
    totalPnlKrw: realizedPnlKrw + unrealizedPnlKrw,
    totalAssetsKrw: cashTotalKrw + marketValueKrw,
  };
}

export interface RealizedSell {
  readonly executedAt: Date;
  readonly realizedPnlKrw: bigint;
  readonly feeKrw: bigint;
  readonly taxKrw: bigint;
}

/** Realised P&L per trading day, newest day first. */
export function dailyRealized(sells: readonly RealizedSell[]) {
  const days = new Map<string, { date: string; realizedPnlKrw: bigint; feeKrw: bigint; taxKrw: bigint; sells: number }>();
  for (const s of sells) {
    const date = tradingDay(s.executedAt);
    const day = days.get(date) ?? { date, realizedPnlKrw: 0n, feeKrw: 0n, taxKrw: 0n, sells: 0 };
    days.set(date, {
      date,
      realizedPnlKrw: day.realizedPnlKrw + s.realizedPnlKrw,
      feeKrw: day.feeKrw + s.feeKrw,
      taxKrw: day.taxKrw + s.taxKrw,
      sells: day.sells + 1,
    });
  }
  return [...days.values()].sort((a, b) => (a.date < b.date ? 1 : -1));
}
