// The drills' fault modes, switched at run time, applied around the desk:
// the desk itself never knows a drill is on, except for what it must journal
// (a simulated rejection) or publish (a second copy of the executions).
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@kuku/platform";
import { DomainError } from "@kuku/platform/errors";
import type { OrderRecord, SubmitInput, SubmitResult } from "../domain/engine.js";
import { checkFaultSetting, type FaultSetting, NO_FAULT, submitFault } from "../domain/faults.js";
import type { Desk } from "./desk.js";

const exchangeDown = () => new DomainError("unavailable", "the exchange is down (fault mode DOWN)");

/** The call was entered but, by the SILENT fault, is never answered. */
const neverAnswered = () => new DomainError("deadline_exceeded", "the caller gave up waiting (fault mode SILENT)");

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
    const result = await this.desk.submit(input, {
      ...(fault.kind === "reject" ? { refusal: "simulated rejection (fault mode REJECT)" } : {}),
      copies: fault.kind === "duplicate" ? 2 : 1,
    });
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
