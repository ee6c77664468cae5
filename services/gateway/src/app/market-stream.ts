// Live quotes for the console come from the market service's WebSocket
// (ADR 0023); the gateway only vouches for the signed-in user with a token.
import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import { DomainError } from "@kuku/platform/errors";
import type { MarketTokens } from "../domain/market-token.js";

export class MarketStreamAccess {
  constructor(
    private readonly tokens: MarketTokens,
    /** Undefined when no market service is configured. */
    private readonly websocketUrl: string | undefined,
  ) {}

  async issue(userId: string): Promise<api.IssueMarketStreamTokenResponse> {
    if (this.websocketUrl === undefined) throw new DomainError("unavailable", "market data is not configured on this gateway");
    return create(api.IssueMarketStreamTokenResponseSchema, {
      token: await this.tokens.mint(userId),
      websocketUrl: this.websocketUrl,
      expiresInSeconds: BigInt(this.tokens.ttlSeconds),
    });
  }
}
