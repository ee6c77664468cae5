// Live quotes for the console come from the market service's WebSocket
// (ADR 0023); the gateway only vouches for the signed-in user with a token.
import { create } from "@bufbuild/protobuf";
import * as api from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import type { MarketTokens } from "../domain/market-token.js";

export class MarketStreamAccess {
  constructor(
    private readonly tokens: MarketTokens,
    private readonly websocketUrl: string,
  ) {}

  async issue(userId: string): Promise<api.IssueMarketStreamTokenResponse> {
    return create(api.IssueMarketStreamTokenResponseSchema, {
      token: await this.tokens.mint(userId),
      websocketUrl: this.websocketUrl,
      expiresInSeconds: BigInt(this.tokens.ttlSeconds),
    });
  }
}
