// Fault modes for drills, switched at run time. Pure: the desk asks what to
// do with one call and supplies the dice.

export type FaultMode = "none" | "delay" | "silent" | "duplicate" | "reject" | "down";

export interface FaultSetting {
  readonly mode: FaultMode;
  readonly delayMs: number;
  /** Share of calls affected, 0..100 ("down" affects every call). */
  readonly percent: number;
}

export const NO_FAULT: FaultSetting = { mode: "none", delayMs: 0, percent: 0 };

/** What happens to one SubmitOrder call. */
export type SubmitFault =
  | { readonly kind: "none" }
  | { readonly kind: "down" }
  | { readonly kind: "delay"; readonly delayMs: number }
  /** The order is entered and traded, the caller never hears back. */
  | { readonly kind: "silent" }
  /** Executions are published twice (same event ids). */
  | { readonly kind: "duplicate" }
  | { readonly kind: "reject" };

export function submitFault(setting: FaultSetting, roll: number): SubmitFault {
  if (setting.mode === "down") return { kind: "down" };
  if (setting.mode === "none" || roll * 100 >= setting.percent) return { kind: "none" };
  if (setting.mode === "delay") return { kind: "delay", delayMs: setting.delayMs };
  return { kind: setting.mode };
}

export function checkFaultSetting(setting: FaultSetting): string | undefined {
  if (!Number.isInteger(setting.percent) || setting.percent < 0 || setting.percent > 100) return "percent must be 0..100";
  if (!Number.isInteger(setting.delayMs) || setting.delayMs < 0) return "delay_ms must be >= 0";
  if (setting.mode === "delay" && setting.delayMs === 0) return "delay_ms must be > 0 for the delay mode";
  return undefined;
}
