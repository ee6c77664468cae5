// Sign-up, log-in, refresh and log-out: sessions are refresh-token families.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import * as api from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { DomainError } from "@kuku/platform/errors";
import type pg from "pg";
import type { Logger } from "pino";
import type { PasswordHasher } from "../domain/password.js";
import { passwordProblem } from "../domain/password-policy.js";
import { type AccessTokens, newRefreshToken, refreshTokenDigest } from "../domain/tokens.js";
import type { LoginFailures } from "../redis/login-failures.js";
import type { Revocations } from "../redis/revocations.js";
import * as store from "../store/user-store.js";
import type { HashBudget } from "./hash-budget.js";

export interface AuthDeps {
  readonly pool: pg.Pool;
  readonly passwords: PasswordHasher;
  readonly hashBudget: HashBudget;
  readonly loginFailures: LoginFailures;
  readonly accessTokens: AccessTokens;
  readonly refreshTokenTtlSeconds: number;
  readonly revocations: Revocations;
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly ledgerTimeoutMs: number;
  readonly logger: Logger;
}

// One message for a wrong password and an unknown e-mail: no account probing.
const badCredentials = () => new DomainError("unauthenticated", "e-mail or password is wrong");
const emailTaken = () => new DomainError("already_exists", "email: an account with this e-mail already exists");
const badRefresh = () => new DomainError("unauthenticated", "refresh token is not valid; log in again");

/** The same request id as the order service uses, so the two open the same account once. */
export const openCashAccountRequest = (userId: string) =>
  create(ledger.OpenAccountRequestSchema, { requestId: `open-${userId}-KRW`, ownerId: userId, asset: "KRW" });

export class Auth {
  constructor(private readonly deps: AuthDeps) {}

  /** `address`: the caller's, for the hashing budget. */
  async signUp(req: api.SignUpRequest, address: string): Promise<api.SignUpResponse> {
    const problem = passwordProblem(req.password, [req.email, req.displayName]);
    if (problem !== undefined) throw new DomainError("invalid_argument", problem);
    // Checked before hashing, so that probing taken e-mails costs the gateway a query, not a hash.
    if ((await store.findUserByEmail(this.deps.pool, req.email)) !== undefined) throw emailTaken();
    const userId = randomUUID();
    const passwordHash = await this.deps.hashBudget.run(address, () => this.deps.passwords.hash(req.password));
    const user = await store.insertUser(this.deps.pool, { userId, email: req.email, displayName: req.displayName, passwordHash });
    if (user === undefined) throw emailTaken();
    // The KRW account is opened here for the console to show at once; if the
    // ledger is down now, the first deposit or order opens it (idempotently).
    await this.deps.ledger
      .openAccount(openCashAccountRequest(userId), { timeoutMs: this.deps.ledgerTimeoutMs })
      .catch((error: unknown) => this.deps.logger.warn({ err: error, userId }, "could not open the cash account at sign-up"));
    return create(api.SignUpResponseSchema, { userId, tokens: await this.#startSession(userId) });
  }

  /** `address`: the caller's, for the hashing budget. */
  async logIn(req: api.LogInRequest, address: string): Promise<api.LogInResponse> {
    await this.deps.loginFailures.check(req.email);
    const user = await store.findUserByEmail(this.deps.pool, req.email);
    const ok = await this.deps.hashBudget.run(address, () => this.deps.passwords.verify(req.password, user?.passwordHash));
    if (!ok || user === undefined) {
      await this.deps.loginFailures.recordFailure(req.email);
      throw badCredentials();
    }
    await this.deps.loginFailures.clear(req.email);
    return create(api.LogInResponseSchema, { userId: user.userId, tokens: await this.#startSession(user.userId) });
  }

  async refresh(req: api.RefreshTokenRequest): Promise<api.RefreshTokenResponse> {
    const outcome = await store.useRefreshToken(this.deps.pool, refreshTokenDigest(req.refreshToken));
    if (outcome.kind === "invalid") throw badRefresh();
    if (outcome.kind === "reused") {
      // A rotated token came back: a copy exists. End the session for everyone holding it.
      await this.#endSession(outcome.familyId);
      this.deps.logger.warn({ sessionId: outcome.familyId }, "refresh token reused: session revoked");
      throw badRefresh();
    }
    return create(api.RefreshTokenResponseSchema, { tokens: await this.#issue(outcome.userId, outcome.familyId) });
  }

  async logOut(req: api.LogOutRequest): Promise<api.LogOutResponse> {
    const family = await store.findFamily(this.deps.pool, refreshTokenDigest(req.refreshToken));
    // Logging out twice, or with an unknown token, is not an error worth telling.
    if (family !== undefined) await this.#endSession(family.familyId);
    return create(api.LogOutResponseSchema, {});
  }

  #startSession(userId: string): Promise<api.Tokens> {
    return this.#issue(userId, randomUUID());
  }

  async #issue(userId: string, familyId: string): Promise<api.Tokens> {
    const refreshToken = newRefreshToken();
    await store.insertRefreshToken(this.deps.pool, {
      digest: refreshTokenDigest(refreshToken),
      userId,
      familyId,
      expiresAt: new Date(Date.now() + this.deps.refreshTokenTtlSeconds * 1000),
    });
    return create(api.TokensSchema, {
      accessToken: await this.deps.accessTokens.issue({ userId, sessionId: familyId }),
      refreshToken,
      accessExpiresInSeconds: BigInt(this.deps.accessTokens.ttlSeconds),
    });
  }

  async #endSession(familyId: string): Promise<void> {
    await store.revokeFamily(this.deps.pool, familyId);
    await this.deps.revocations.revoke(familyId);
  }
}
