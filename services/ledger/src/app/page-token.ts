import { invalidArgument } from "@kuku/platform/errors";

const PAGE_TOKEN = /^p(\d{1,19})$/;

export function encodePageToken(postingId: bigint): string {
  return Buffer.from(`p${postingId}`).toString("base64url");
}

export function decodePageToken(token: string): bigint | undefined {
  if (token === "") return undefined;
  const match = PAGE_TOKEN.exec(Buffer.from(token, "base64url").toString());
  if (match?.[1] === undefined) throw invalidArgument("page_token", "is not a token this service issued");
  return BigInt(match[1]);
}
