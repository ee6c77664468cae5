// Amounts are bigint minor units (1 won, 1 share); PostgreSQL stores them as
// BIGINT, so every stored value must fit a signed 64-bit integer.
export const INT64_MAX = 2n ** 63n - 1n;
export const INT64_MIN = -(2n ** 63n);

export function fitsInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}
