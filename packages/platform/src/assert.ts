/**
 * One invariant check for every service (TIGER_STYLE: assert what must hold,
 * crash loudly when it does not). A violation is a bug, never a caller's
 * mistake: the server answers INTERNAL and logs it.
 */
export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(`invariant violated: ${message}`);
}
