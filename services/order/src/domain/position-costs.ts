// A user's cost basis and realised P&L, folded from their settled fills by
// the moving-average method (이동평균법, ADR 0024). Exact to the won: the
// cost basis is kept as a total, not as a rounded average price, so that the
// realised P&L of every sell plus the unrealised P&L of what is left adds up
// to what the fills did to the ledger's cash and shares.
import type { Side } from "./order.js";

export interface CostFill {
  readonly executionId: string;
  readonly orderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly quantity: bigint;
  readonly priceKrw: bigint;
  /** The commission (commission and tax together for a fill from before the split: `taxKrw` is then 0). */
  readonly feeKrw: bigint;
  readonly taxKrw: bigint;
  readonly executedAt: Date;
}

export interface PositionCost {
  readonly symbol: string;
  readonly quantity: bigint;
  /** What the shares still held cost, buy commissions included. */
  readonly costBasisKrw: bigint;
  readonly realizedPnlKrw: bigint;
}

export interface RealizedTrade {
  readonly fill: CostFill;
  /** The part of the cost basis the sell took away. */
  readonly costBasisKrw: bigint;
  /** Proceeds less commission, tax and that cost basis. */
  readonly realizedPnlKrw: bigint;
}

/**
 * Folds fills (in execution order) into positions and realised trades. A
 * buy adds its notional and commission to the basis; a sell takes away the
 * basis's share of the shares it sells, rounded down, all of it when it
 * sells the last share, so nothing is left behind on an empty position.
 * Shares sold beyond what the fills bought (shares that came from outside
 * the order service) carry no cost.
 */
export function positionCosts(fills: readonly CostFill[]): { positions: PositionCost[]; realized: RealizedTrade[] } {
  const positions = new Map<string, PositionCost>();
  const realized: RealizedTrade[] = [];
  for (const fill of fills) {
    const p = positions.get(fill.symbol) ?? { symbol: fill.symbol, quantity: 0n, costBasisKrw: 0n, realizedPnlKrw: 0n };
    if (fill.side === "buy") {
      const costKrw = fill.priceKrw * fill.quantity + fill.feeKrw + fill.taxKrw;
      positions.set(fill.symbol, { ...p, quantity: p.quantity + fill.quantity, costBasisKrw: p.costBasisKrw + costKrw });
      continue;
    }
    const removedKrw = p.quantity <= 0n ? 0n : fill.quantity >= p.quantity ? p.costBasisKrw : (p.costBasisKrw * fill.quantity) / p.quantity;
    const realizedPnlKrw = fill.priceKrw * fill.quantity - fill.feeKrw - fill.taxKrw - removedKrw;
    realized.push({ fill, costBasisKrw: removedKrw, realizedPnlKrw });
    positions.set(fill.symbol, {
      symbol: fill.symbol,
      quantity: p.quantity - fill.quantity,
      costBasisKrw: p.costBasisKrw - removedKrw,
      realizedPnlKrw: p.realizedPnlKrw + realizedPnlKrw,
    });
  }
  return { positions: [...positions.values()], realized };
}
