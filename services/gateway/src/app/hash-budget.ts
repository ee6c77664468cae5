// Password hashing is the gateway's most expensive work (scrypt at log2N 17:
// about 1 s of CPU and 128 MiB per log-in, `kuku-bench gateway auth`), so a
// flood of log-ins is a lever on everyone's. The budget: at most
// `concurrencyMax` hashes at once (one per core), `queueMax` waiting, and one
// address never more than `perAddressMax` of them; beyond that the log-in is
// refused at once (RESOURCE_EXHAUSTED) instead of queueing behind a flood.
import { DomainError } from "@kuku/platform/errors";
import { BulkheadRejectedError, bulkhead } from "cockatiel";

export interface HashBudgetLimits {
  readonly concurrencyMax: number;
  readonly queueMax: number;
  readonly perAddressMax: number;
}

export class HashBudget {
  readonly #slots;
  readonly #perAddress = new Map<string, number>();

  constructor(private readonly limits: HashBudgetLimits) {
    this.#slots = bulkhead(limits.concurrencyMax, limits.queueMax);
  }

  async run<T>(address: string, hash: () => Promise<T>): Promise<T> {
    const mine = this.#perAddress.get(address) ?? 0;
    if (mine >= this.limits.perAddressMax) throw busy("this address has a log-in being checked");
    this.#perAddress.set(address, mine + 1);
    try {
      return await this.#slots.execute(hash);
    } catch (error) {
      if (error instanceof BulkheadRejectedError) throw busy("every password check is taken");
      throw error;
    } finally {
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, left);
    }
  }
}

const busy = (why: string) => new DomainError("resource_exhausted", `log-in is busy (${why}): retry in a second`, { "retry-after": "1" });
