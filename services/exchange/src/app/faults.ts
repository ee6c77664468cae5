// The drills' fault modes, switched at run time, applied around the desk:
// the desk itself never knows a drill is on, except for what it must journal
// (a simulated rejection) or publish (a second copy of the executions).
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@kuku/platform";
import { DomainError } from "@kuku/platform/errors";
import type { OrderRecord, SubmitInput, SubmitResult } from "../domain/engine.js";
import { checkFaultSetting, type FaultSetting, NO_FAULT, type SubmitFault, submitFault } from "../domain/faults.js";
import type { Desk, SubmitDrill } from "./desk.js";

const exchangeDown = () => new DomainError("unavailable", "the exchange is down (fault mode DOWN)");

/** The call was entered but, by the SILENT fault, is never answered. */
const neverAnswered = () => new DomainError("deadline_exceeded", "the caller gave up waiting (fault mode SILENT)");

/** What the desk itself must journal or publish of a call's fault. */
const drillOf = (fault: SubmitFault): SubmitDrill => ({
  ...(fault.kind === "reject" ? { refusal: "simulated rejection (fault mode REJECT)" } : {}),
  copies: fault.kind === "duplicate" ? 2 : 1,
});

export class DeskWithFaults {
  #fault: FaultSetting = NO_FAULT;

  /** `random`: the dice for a fault's percent. */
  constructor(
    private readonly desk: Desk,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  get sessionId(): string {
    return this.desk.sessionId;
  }

  get phase() {
    return this.desk.phase;
  }

  listings() {
    return this.desk.listings();
  }

  setFault(setting: FaultSetting): void {
    const problem = checkFaultSetting(setting);
    if (problem !== undefined) throw new DomainError("invalid_argument", problem);
    this.#fault = setting;
    this.logger.warn({ fault: setting }, "fault mode changed");
  }

  async submit(input: SubmitInput, signal: AbortSignal): Promise<SubmitResult> {
    const fault = submitFault(this.#fault, this.random());
    if (fault.kind === "down") throw exchangeDown();
    if (fault.kind === "delay") await sleep(fault.delayMs, undefined, { signal });
    const result = await this.desk.submit(input, drillOf(fault));
    if (fault.kind === "silent") {
      this.logger.info({ clientOrderId: input.clientOrderId, status: result.order.status }, "entered, not answering (fault mode SILENT)");
      await new Promise<never>((_, reject) => {
        const fail = () => reject(neverAnswered());
        if (signal.aborted) fail();
        else signal.addEventListener("abort", fail, { once: true });
      });
    }
    return result;
  }

  /**
   * Several orders at once, each with its own roll of the dice: the longest
   * delay drawn holds the whole call; an order drawn SILENT is entered and
   * answered with no answer (DEADLINE_EXCEEDED) on its own.
   */
  async submitAll(inputs: readonly SubmitInput[], signal: AbortSignal): Promise<(SubmitResult | Error)[]> {
    if (this.#fault.mode === "down") throw exchangeDown();
    const faults = inputs.map(() => submitFault(this.#fault, this.random()));
    const delayMs = Math.max(0, ...faults.map((f) => (f.kind === "delay" ? f.delayMs : 0)));
    if (delayMs > 0) await sleep(delayMs, undefined, { signal });
    const results = await this.desk.submitAll(inputs.map((input, i) => ({ input, drill: drillOf(faults[i]!) })));
    return results.map((result, i) => {
      if (faults[i]!.kind !== "silent" || result instanceof Error) return result;
      this.logger.info(
        { clientOrderId: result.order.clientOrderId, status: result.order.status },
        "entered, not answering (fault mode SILENT)",
      );
      return neverAnswered();
    });
  }

  async cancel(clientOrderId: string): Promise<{ order: OrderRecord; cancelledQuantity: number }> {
    this.#refuseIfDown();
    return this.desk.cancel(clientOrderId);
  }

  async closeSession(): Promise<readonly OrderRecord[]> {
    this.#refuseIfDown();
    return this.desk.closeSession();
  }

  status(clientOrderId: string): OrderRecord | undefined {
    this.#refuseIfDown();
    return this.desk.status(clientOrderId);
  }

  #refuseIfDown(): void {
    if (this.#fault.mode === "down") throw exchangeDown();
  }
}
