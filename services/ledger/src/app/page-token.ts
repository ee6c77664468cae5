import { invalidArgument } from "@kuku/platform/errors";

const PAGE_TOKEN = /^p(\d{1,19})$/;
// posting_id is a PostgreSQL bigint: a larger number would fail the cast (INTERNAL).
const MAX_POSTING_ID = 2n ** 63n - 1n;

export function encodePageToken(postingId: bigint): string {
  return Buffer.from(`p${postingId}`).toString("base64url");
}

export function decodePageToken(token: string): bigint | undefined {
  if (token === "") return undefined;
  const match = PAGE_TOKEN.exec(Buffer.from(token, "base64url").toString());
  const postingId = match?.[1] === undefined ? undefined : BigInt(match[1]);
  if (postingId === undefined || postingId > MAX_POSTING_ID) throw invalidArgument("page_token", "is not a token this service issued");
  return postingId;
}
