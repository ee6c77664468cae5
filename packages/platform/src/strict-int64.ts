// protobuf's JSON mapping writes 64-bit integers as decimal strings, and
// protobuf-es reads them with BigInt(), which also takes "0x10", "+5", " 1"
// and "0b11". A caller who sends those means something we cannot be sure of:
// a Connect JSON request with such a string is INVALID_ARGUMENT naming the
// field, before anything is parsed, so it changes nothing.
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { createAsyncIterable, readAllBytes } from "@connectrpc/connect/protocol";
import { asHandlerOf } from "./malformed.js";

const INT64 = new Set([ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64]);
const UINT64 = new Set([ScalarType.UINT64, ScalarType.FIXED64]);
const SIGNED_DECIMAL = /^-?(0|[1-9][0-9]*)$/;
const UNSIGNED_DECIMAL = /^(0|[1-9][0-9]*)$/;

/** The first 64-bit field of `message` (at any depth) whose JSON string is not a plain decimal, as its path. */
export function nonDecimalInt64(schema: DescMessage, json: unknown, path = ""): string | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.jsonName === key || f.name === key);
    if (field === undefined) continue;
    const at = `${path}${field.name}`;
    const values = field.fieldKind === "list" && Array.isArray(value) ? value : [value];
    for (const [i, item] of values.entries()) {
      const where = field.fieldKind === "list" ? `${at}[${i}]` : at;
      const bad = badValue(field, item, where);
      if (bad !== undefined) return bad;
    }
  }
  return undefined;
}

function badValue(field: DescField, value: unknown, where: string): string | undefined {
  const scalar = field.fieldKind === "scalar" || field.fieldKind === "list" ? field.scalar : undefined;
  if (scalar !== undefined && typeof value === "string") {
    if (INT64.has(scalar) && !SIGNED_DECIMAL.test(value)) return where;
    if (UINT64.has(scalar) && !UNSIGNED_DECIMAL.test(value)) return where;
  }
  const message = field.fieldKind === "message" || field.fieldKind === "list" ? field.message : undefined;
  // Well-known types have JSON forms of their own (a Timestamp is a string): only our messages are walked.
  if (message !== undefined && !message.typeName.startsWith("google.protobuf.")) return nonDecimalInt64(message, value, `${where}.`);
  return undefined;
}

/** Connect unary JSON requests only: gRPC, gRPC-Web and protobuf bodies carry 64-bit integers as varints. */
export function strictInt64Json(handler: UniversalHandler, readMaxBytes: number): UniversalHandler {
  const input = handler.method.input;
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const json = req.method === "POST" && (req.header.get("content-type") ?? "").startsWith("application/json");
    // Only a body of a stated length within the limit is read here; anything else is connect's to refuse as it does.
    const length = Number(req.header.get("content-length") ?? Number.NaN);
    const readable = Number.isInteger(length) && length <= readMaxBytes && Symbol.asyncIterator in Object(req.body);
    if (!json || !readable) return handler(req);
    const bytes = await readAllBytes(req.body as AsyncIterable<Uint8Array>, readMaxBytes, length);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      parsed = undefined; // connect answers malformed JSON itself
    }
    const field = nonDecimalInt64(input, parsed);
    if (field === undefined) return handler({ ...req, body: createAsyncIterable([bytes]) });
    const body = new TextEncoder().encode(
      JSON.stringify({ code: "invalid_argument", message: `${field}: a 64-bit integer must be a decimal string or number` }),
    );
    return {
      status: 400,
      header: new Headers({ "content-type": "application/json", "content-length": String(body.byteLength) }),
      body: createAsyncIterable([body]),
    };
  };
  return asHandlerOf(handler, wrapped);
}
