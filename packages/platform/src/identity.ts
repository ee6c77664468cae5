// Service identity without a mesh (ADR 0021). Each service holds an Ed25519
// key of its own and the public keys of every identity it trusts; a client
// sends a short-lived token (a JWT signed with its key: sub = its name, aud =
// the called service) and the server checks it and the rpc's
// (kuku.options.v1.callers) before anything else runs. Tokens are minted once
// per target and reused until near their expiry, and a server remembers the
// tokens it verified, so a call costs a header lookup, not a signature.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { type DescMethod, getOption } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { callers as callersOption } from "@kuku/contracts/kuku/options/v1/options_pb";
import { jwtVerify, SignJWT } from "jose";
import { ConfigError, DEVELOPMENT_ENV, optionalStringVar } from "./config.js";
import { DomainError } from "./errors.js";
import { oncePer } from "./once-per.js";

/** The identity of people and tools (kuku-bench, drills, tests, grpcurl): may call every rpc that names callers. */
export const OPERATOR = "operator";
const TOKEN_TTL_SECONDS = 300;
/** A client mints a new token once its current one has less than this left. */
const TOKEN_RENEW_BEFORE_MS = 60_000;
const VERIFIED_TOKENS_MAX = 10_000;

export interface ServiceIdentity {
  readonly name: string;
  readonly privateKey: KeyObject;
  /** Every identity whose tokens are accepted, by name, this one included. */
  readonly trusted: ReadonlyMap<string, KeyObject>;
}

/**
 * The services (and "operator") that may call the rpc; undefined for a public one. Read once per method:
 * getOption parses the option's extension on every call (measured in the rpc bench's client profile).
 */
export const callersOf: (method: DescMethod) => readonly string[] | undefined = oncePer((method) => {
  const names = getOption(method, callersOption);
  return names.length === 0 ? undefined : Object.freeze([...names]);
});

const base64Der = (key: KeyObject, type: "pkcs8" | "spki") => key.export({ format: "der", type }).toString("base64url");

/** A fresh key pair per name, as the variables the services read: `<name>=<private key>` and the trust list. */
export function generateIdentityKeys(names: readonly string[]): { readonly keys: Record<string, string>; readonly trust: string } {
  const keys: Record<string, string> = {};
  const trust: string[] = [];
  for (const name of names) {
    const pair = generateKeyPairSync("ed25519");
    keys[name] = base64Der(pair.privateKey, "pkcs8");
    trust.push(`${name}=${base64Der(pair.publicKey, "spki")}`);
  }
  return { keys, trust: trust.join(",") };
}

/**
 * `<PREFIX>_IDENTITY_KEY` (its Ed25519 private key, base64url PKCS#8 DER) and
 * KUKU_IDENTITY_TRUST (`name=<base64url SPKI DER>,...`). Both are required
 * unless KUKU_ENV=development, where leaving both unset turns the checks off.
 */
export function identityConfigShape(prefix: string) {
  return { identityKey: optionalStringVar(`${prefix}_IDENTITY_KEY`), identityTrust: optionalStringVar("KUKU_IDENTITY_TRUST") };
}

/** The service's identity from its configuration; undefined only in development mode with neither variable set. */
export function loadIdentity(
  name: string,
  config: { readonly identityKey: string | undefined; readonly identityTrust: string | undefined },
  env: Record<string, string | undefined> = process.env,
): ServiceIdentity | undefined {
  if (config.identityKey === undefined && config.identityTrust === undefined && env[DEVELOPMENT_ENV.name] === DEVELOPMENT_ENV.value) {
    return undefined;
  }
  if (config.identityKey === undefined || config.identityTrust === undefined) {
    throw new ConfigError(
      `the ${name} service needs its identity key and KUKU_IDENTITY_TRUST (make up and the testkit generate them; or ${DEVELOPMENT_ENV.name}=${DEVELOPMENT_ENV.value} to run without)`,
    );
  }
  return identityFrom(name, config.identityKey, config.identityTrust);
}

export function identityFrom(name: string, privateKeyBase64: string, trust: string): ServiceIdentity {
  const parse = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (error) {
      throw new ConfigError(`${what}: ${(error as Error).message}`);
    }
  };
  const privateKey = parse(`the ${name} identity key`, () =>
    createPrivateKey({ key: Buffer.from(privateKeyBase64, "base64url"), format: "der", type: "pkcs8" }),
  );
  const trusted = new Map<string, KeyObject>();
  for (const item of trust.split(",").filter((s) => s.trim() !== "")) {
    const [who, key] = item.split("=", 2).map((s) => s.trim());
    if (!who || !key) throw new ConfigError(`KUKU_IDENTITY_TRUST: "${item}" is not name=key`);
    trusted.set(
      who,
      parse(`the trusted key of ${who}`, () => createPublicKey({ key: Buffer.from(key, "base64url"), format: "der", type: "spki" })),
    );
  }
  const own = trusted.get(name);
  if (own === undefined || base64Der(own, "spki") !== base64Der(createPublicKey(privateKey), "spki")) {
    throw new ConfigError(`KUKU_IDENTITY_TRUST must hold the ${name} service's own public key`);
  }
  return { name, privateKey, trusted };
}

// The identity this process's service clients present when they are not given one (set by runService, or the testkit).
let defaultIdentity: ServiceIdentity | undefined;
export function setDefaultIdentity(identity: ServiceIdentity | undefined): void {
  defaultIdentity = identity;
}
export const getDefaultIdentity = (): ServiceIdentity | undefined => defaultIdentity;

/** A token for calls to `audience` (a service's full name), signed by `identity`. */
export function mintToken(identity: ServiceIdentity, audience: string, ttlSeconds = TOKEN_TTL_SECONDS): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "EdDSA", kid: identity.name })
    .setSubject(identity.name)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(identity.privateKey);
}

/**
 * Client side: `authorization: Bearer <token>` for the called service, put in place by `set` before `send`, a token
 * per service reused until near its expiry; only on rpcs that name their callers, so that a public rpc's own
 * authorization (a user's access token at the gateway) goes through untouched. A call waits only while its
 * service's token is being signed.
 */
export function identityAuthorization(
  identity: ServiceIdentity,
): <T>(method: DescMethod, set: (authorization: string) => void, send: () => Promise<T>) => Promise<T> {
  const tokens = new Map<string, { readonly header: Promise<string>; value?: string; readonly renewAtMs: number }>();
  const authorizationOf = (audience: string): string | Promise<string> => {
    let cached = tokens.get(audience);
    if (cached === undefined || Date.now() >= cached.renewAtMs) {
      const entry: { header: Promise<string>; value?: string; renewAtMs: number } = {
        header: mintToken(identity, audience).then((token) => `Bearer ${token}`),
        renewAtMs: Date.now() + TOKEN_TTL_SECONDS * 1000 - TOKEN_RENEW_BEFORE_MS,
      };
      entry.header.then(
        (header) => (entry.value = header),
        () => tokens.get(audience) === entry && tokens.delete(audience),
      );
      tokens.set(audience, entry);
      cached = entry;
    }
    return cached.value ?? cached.header;
  };
  return (method, set, send) => {
    if (callersOf(method) === undefined) return send();
    const authorization = authorizationOf(method.parent.typeName);
    if (typeof authorization !== "string") {
      return authorization.then((value) => {
        set(value);
        return send();
      });
    }
    set(authorization);
    return send();
  };
}

/** identityAuthorization as a Connect client interceptor. */
export function identityClientInterceptor(identity: ServiceIdentity): Interceptor {
  const authorize = identityAuthorization(identity);
  return (next) => (req) =>
    authorize(
      req.method,
      (value) => req.header.set("authorization", value),
      () => next(req),
    );
}

/**
 * Server side, before validation: an rpc that names its callers needs a token
 * from a trusted identity for this service (UNAUTHENTICATED otherwise) whose
 * name is among them or is the operator's (PERMISSION_DENIED otherwise).
 */
export function identityServerInterceptor(identity: ServiceIdentity): Interceptor {
  const verified = new Map<string, { caller: string; audience: string; expiresAtMs: number }>();
  const verify = async (token: string, audience: string): Promise<string> => {
    const known = verified.get(token);
    if (known !== undefined && known.expiresAtMs > Date.now() && known.audience === audience) return known.caller;
    const { payload, protectedHeader } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid === undefined ? undefined : identity.trusted.get(header.kid);
        if (key === undefined) throw new Error(`no trusted key named ${JSON.stringify(header.kid)}`);
        return key;
      },
      { algorithms: ["EdDSA"], audience, requiredClaims: ["sub", "exp", "iat"], maxTokenAge: `${TOKEN_TTL_SECONDS + 60}s` },
    );
    // A key speaks for its own name only.
    if (payload.sub !== protectedHeader.kid) throw new Error(`signed by ${protectedHeader.kid} for ${payload.sub}`);
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.clear();
    verified.set(token, { caller: payload.sub!, audience, expiresAtMs: payload.exp! * 1000 });
    return payload.sub!;
  };
  return (next) => async (req) => {
    const allowed = callersOf(req.method);
    if (allowed === undefined) return next(req);
    const token = /^Bearer (\S+)$/.exec(req.header.get("authorization") ?? "")?.[1];
    if (token === undefined) throw new DomainError("unauthenticated", `${req.method.name} needs a service identity: no bearer token`);
    const caller = await verify(token, req.service.typeName).catch((error: unknown) => {
      throw new DomainError("unauthenticated", `${req.method.name}: the service token was refused (${(error as Error).message})`);
    });
    if (caller !== OPERATOR && !allowed.includes(caller)) {
      throw new DomainError("permission_denied", `${caller} may not call ${req.method.name} (callers: ${allowed.join(", ")})`);
    }
    return next(req);
  };
}
