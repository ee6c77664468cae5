// Which calls may be repeated, for the retry policy (resilience.ts), as the
// contract of the called service declares it: each rpc's idempotency_level,
// and for an IDEMPOTENT one the request field marked
// (kuku.options.v1.idempotency_key). Every client of a service (order,
// gateway) thus retries by the same rules, the ones written next to the rpc.
import { type DescMethod, getOption } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel as Level } from "@bufbuild/protobuf/wkt";
import { idempotency_key } from "@kuku/contracts/kuku/options/v1/options_pb";
import { oncePer } from "./once-per.js";

/**
 * How a method is idempotent: "read" changes nothing (NO_SIDE_EFFECTS);
 * `keyField` names the request field (as in the generated code) that makes a
 * repeat harmless (IDEMPOTENT). Undefined: never repeated.
 */
export type Idempotency = "read" | { readonly keyField: string };

// Read once per method: the retry policy asks on every call, and getOption parses the field's extension each time.
export const idempotencyOf: (method: DescMethod) => Idempotency | undefined = oncePer(readIdempotency);

function readIdempotency(method: DescMethod): Idempotency | undefined {
  if (method.idempotency === Level.NO_SIDE_EFFECTS) return "read";
  if (method.idempotency !== Level.IDEMPOTENT) return undefined;
  // The key is declared in the contract rather than guessed from a field name; an
  // IDEMPOTENT rpc without one (the contracts' tests refuse that) is not repeated.
  const key = method.input.fields.find((f) => getOption(f, idempotency_key));
  return key === undefined ? undefined : { keyField: key.localName };
}

/** Whether this request may be sent again: declared so, and carrying its key when it needs one. */
export function mayRepeat(method: DescMethod, message: object): boolean {
  const how = idempotencyOf(method);
  if (how === undefined) return false;
  if (how === "read") return true;
  // Declared idempotent by a key, but sent without one: a repeat would be a second request.
  const key = (message as Record<string, unknown>)[how.keyField];
  return typeof key === "string" && key.length > 0;
}
