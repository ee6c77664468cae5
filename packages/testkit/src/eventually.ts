import { setTimeout as sleep } from "node:timers/promises";

/** Thrown by a check of `eventually` when waiting longer is pointless (a process died). */
export class GiveUp extends Error {
  override name = "GiveUp";
}

/**
 * Polls `check` until it says true. A throw counts as "not yet" (a server
 * still starting refuses), except GiveUp; after `timeoutMs` it fails,
 * naming `what` and quoting the last error.
 */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting until ${what} (${timeoutMs} ms)${last === undefined ? "" : `; last error: ${String(last)}`}`);
    await sleep(50);
  }
}
