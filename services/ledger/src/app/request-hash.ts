import { createHash } from "node:crypto";
import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";

// Key order in JSON objects (metadata maps) must not change the hash.
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** What a request id is bound to: a replay must carry the same payload. */
export function payloadHash<D extends DescMessage>(schema: D, request: MessageShape<D>): Uint8Array {
  return createHash("sha256")
    .update(schema.typeName)
    .update(canonicalJson(toJson(schema, request)))
    .digest();
}
