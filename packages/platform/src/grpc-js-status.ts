// What the grpc-js server and client adapters share: gRPC metadata as the
// Headers Connect's interceptors read and write, and a ConnectError as a gRPC
// status and back. The status details (grpc-status-details-bin, a
// google.rpc.Status) are encoded and decoded by Connect's own gRPC code, so
// both paths put the same bytes on the wire.
import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { Metadata, type StatusObject, type status } from "@grpc/grpc-js";

// Owned by gRPC itself (or by HTTP/2): grpc-js writes them from its own state, never from metadata.
const PROTOCOL_HEADERS = new Set([
  "content-type",
  "te",
  "user-agent",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-status",
  "grpc-message",
]);

export function headersToMetadata(headers: Headers): Metadata {
  const metadata = new Metadata();
  headers.forEach((value, key) => {
    if (PROTOCOL_HEADERS.has(key) || key.startsWith(":")) return;
    if (!key.endsWith("-bin")) metadata.add(key, value);
    // Headers join repeated values with ", "; binary values are base64, which has neither.
    else for (const part of value.split(",")) metadata.add(key, Buffer.from(part.trim(), "base64"));
  });
  return metadata;
}

/** Metadata as Connect sees it on its own path: binary values base64-encoded, repeated values joined. */
export function metadataToRecord(metadata: Metadata): Record<string, string> {
  const record: Record<string, string> = {};
  const http2 = metadata.toHttp2Headers();
  for (const key in http2) {
    const value = http2[key];
    if (value !== undefined) record[key] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return record;
}

export function isEmpty(headers: Headers): boolean {
  for (const _ of headers.keys()) return false;
  return true;
}

/** The status a grpc-js server sends for `error`, with the call's trailers and the error's details. */
export function statusFromError(error: ConnectError, trailer: Headers): Partial<StatusObject> {
  setTrailerStatus(trailer, error);
  // Connect's Code numbers are gRPC's status numbers.
  return { code: error.code as number as status, details: error.rawMessage, metadata: headersToMetadata(trailer) };
}

/** What a Connect client would have thrown for this status: code, message, metadata, details. */
export function errorFromStatus(status: { code: number; details: string; metadata?: Metadata }): ConnectError {
  const trailer = new Headers(status.metadata === undefined ? undefined : metadataToRecord(status.metadata));
  trailer.set("grpc-status", String(status.code));
  trailer.set("grpc-message", encodeURIComponent(status.details));
  return findTrailerError(trailer) ?? new ConnectError(status.details, Code.Unknown, trailer);
}

/** protobuf-es writes a Uint8Array; grpc-js frames a Buffer (a view, no copy). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function serializerOf(desc: DescMessage): (message: MessageShape<DescMessage>) => Buffer {
  return (message) => toBuffer(toBinary(desc, message));
}
