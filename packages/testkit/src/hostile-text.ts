// Text no service may store or choke on: a NUL byte (PostgreSQL refuses it in
// text), a lone surrogate (not encodable as UTF-8), invalid UTF-8 bytes in a
// binary message, and a string far beyond any length rule. Every case is sent
// over HTTP/1.1 (Connect JSON or binary) to the service's own port.
import type { DescMethod } from "@bufbuild/protobuf";
import { connectCall } from "./connect-call.js";

export const HOSTILE_TEXT = {
  nul: "ab\u0000cd",
  "lone surrogate": "ab\ud800cd",
  huge: "x".repeat(300_000),
} as const;

export interface HostileCase {
  readonly procedure: string;
  /** A server-streaming procedure: its request goes enveloped (connect-call.ts). */
  readonly streaming: boolean;
  readonly field: string;
  readonly kind: string;
  readonly contentType: "application/json" | "application/proto";
  readonly body: string | Uint8Array;
}

const varint = (n: number): number[] => {
  const out: number[] = [];
  let rest = n;
  while (rest > 0x7f) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
  return out;
};

/**
 * For each top-level string field of `method`'s input (single or repeated):
 * `base` (a request valid in every other field, as JSON and as binary) with
 * that field set to each hostile text, and with invalid UTF-8 bytes.
 */
export function hostileTextCases(method: DescMethod, base: { json: Record<string, unknown>; binary: Uint8Array }): HostileCase[] {
  const procedure = `/${method.parent.typeName}/${method.name}`;
  const streaming = method.methodKind === "server_streaming";
  const cases: HostileCase[] = [];
  for (const field of method.input.fields) {
    const isText = field.scalar === 9; // ScalarType.STRING
    if (!isText || (field.fieldKind !== "scalar" && field.fieldKind !== "list")) continue;
    for (const [kind, text] of Object.entries(HOSTILE_TEXT)) {
      const value = field.fieldKind === "list" ? [text] : text;
      cases.push({
        procedure,
        streaming,
        field: field.name,
        kind,
        contentType: "application/json",
        body: JSON.stringify({ ...base.json, [field.jsonName]: value }),
      });
    }
    // A later occurrence of a field overrides (or, repeated, adds to) the base's.
    const invalid = [0x61, 0xff, 0xfe, 0xc0, 0x80];
    const bytes = Uint8Array.from([...base.binary, ...varint((field.number << 3) | 2), invalid.length, ...invalid]);
    cases.push({ procedure, streaming, field: field.name, kind: "invalid UTF-8", contentType: "application/proto", body: bytes });
  }
  return cases;
}

/** Sends a case over Connect (HTTP/1.1): the HTTP status and the Connect error code, if any. */
export async function sendHostile(
  baseUrl: string,
  c: HostileCase,
  headers: Record<string, string> = {},
): Promise<{ status: number; code: string | undefined; message: string }> {
  const codec = c.contentType === "application/json" ? "json" : "proto";
  const { status, code, message } = await connectCall(`${baseUrl}${c.procedure}`, c.body, { codec, streaming: c.streaming, headers });
  return { status, code, message };
}
