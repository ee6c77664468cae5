// Typed configuration from environment variables. Every variable has a
// default that works for a local run (secrets only in development mode); a
// bad value fails start-up with an error naming the variable, never a silent
// fallback.

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

export interface Variable<T> {
  readonly name: string;
  parse(env: Env): T;
}

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

export function stringVar(name: string, defaultValue: string): Variable<string> {
  return { name, parse: (env) => raw(env, name) ?? defaultValue };
}

/** A string with no default: undefined when unset or empty. */
export function optionalStringVar(name: string): Variable<string | undefined> {
  return { name, parse: (env) => raw(env, name) };
}

/** KUKU_ENV=development: the one switch, for every service, that lets a secret fall back to its development default. */
export const DEVELOPMENT_ENV = { name: "KUKU_ENV", value: "development" } as const;

// Secrets the source has published (every secretVar default): never accepted outside development mode.
const knownDefaults = new Set<string>(["kuku-local-development-secret-do-not-deploy", "kuku-dev-market-token-secret-change-me"]);

/**
 * An HS256 key: at least 32 bytes, as RFC 7518 asks for a key as long as the
 * hash. Outside development mode (KUKU_ENV=development) it must be set and
 * must not be a default written in the source: a default secret lets anyone
 * who reads the source sign tokens.
 */
export function secretVar(name: string, developmentDefault: string): Variable<string> {
  knownDefaults.add(developmentDefault);
  return {
    name,
    parse(env) {
      const development = env[DEVELOPMENT_ENV.name] === DEVELOPMENT_ENV.value;
      const set = raw(env, name);
      const hint = `(or ${DEVELOPMENT_ENV.name}=${DEVELOPMENT_ENV.value} for a local run)`;
      if (set === undefined && !development) throw new ConfigError(`${name} is required: set a generated secret ${hint}`);
      const value = set ?? developmentDefault;
      checkSecret(name, value, development);
      return value;
    },
  };
}

/**
 * HS256 keys rotated out, comma-separated, each held to secretVar's rules
 * (at least 32 bytes, no published default outside development mode); empty
 * by default.
 */
export function secretListVar(name: string): Variable<readonly string[]> {
  return {
    name,
    parse(env) {
      const development = env[DEVELOPMENT_ENV.name] === DEVELOPMENT_ENV.value;
      const items = (raw(env, name) ?? "").split(",").filter((s) => s !== "");
      for (const [i, item] of items.entries()) checkSecret(`${name}: key ${i + 1}`, item, development);
      return items;
    },
  };
}

function checkSecret(what: string, value: string, development: boolean): void {
  if (Buffer.byteLength(value) < 32) throw new ConfigError(`${what} must be at least 32 bytes long`);
  if (knownDefaults.has(value) && !development) {
    const hint = `(or ${DEVELOPMENT_ENV.name}=${DEVELOPMENT_ENV.value} for a local run)`;
    throw new ConfigError(`${what} is a default secret published in the source: set a generated one ${hint}`);
  }
}

export function intVar(name: string, defaultValue: number, bounds: { min: number; max: number }): Variable<number> {
  return {
    name,
    parse(env) {
      const text = raw(env, name);
      if (text === undefined) return defaultValue;
      const value = Number(text);
      if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < bounds.min || value > bounds.max) {
        throw new ConfigError(`${name} must be an integer from ${bounds.min} to ${bounds.max}, got ${JSON.stringify(text)}`);
      }
      return value;
    },
  };
}

export function boolVar(name: string, defaultValue: boolean): Variable<boolean> {
  return {
    name,
    parse(env) {
      const text = raw(env, name);
      if (text === undefined) return defaultValue;
      if (text === "true" || text === "1") return true;
      if (text === "false" || text === "0") return false;
      throw new ConfigError(`${name} must be true, false, 1 or 0, got ${JSON.stringify(text)}`);
    },
  };
}

export function enumVar<const T extends string>(name: string, defaultValue: T, allowed: readonly T[]): Variable<T> {
  return {
    name,
    parse(env) {
      const text = raw(env, name) ?? defaultValue;
      if (!(allowed as readonly string[]).includes(text)) {
        throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(text)}`);
      }
      return text as T;
    },
  };
}

export function urlVar(name: string, defaultValue: string, protocols: readonly string[]): Variable<string> {
  return {
    name,
    parse(env) {
      const text = raw(env, name) ?? defaultValue;
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new ConfigError(`${name} must be a URL, got ${JSON.stringify(text)}`);
      }
      if (!protocols.includes(url.protocol)) {
        throw new ConfigError(`${name} must use ${protocols.join(" or ")}, got ${JSON.stringify(url.protocol)}`);
      }
      return text;
    },
  };
}

/** A comma-separated list of host:port, e.g. three Redis servers for Redlock. */
export function hostPortListVar(name: string, defaultValue: string): Variable<{ host: string; port: number }[]> {
  return {
    name,
    parse(env) {
      const text = raw(env, name) ?? defaultValue;
      return text.split(",").map((item) => {
        const match = /^([^:\s]+):(\d{1,5})$/.exec(item.trim());
        const port = Number(match?.[2]);
        if (match === null || port < 1 || port > 65535) {
          throw new ConfigError(`${name} must be a comma-separated list of host:port, got ${JSON.stringify(text)}`);
        }
        return { host: match[1]!, port };
      });
    },
  };
}

export type ConfigShape = Record<string, Variable<unknown>>;
export type Config<S extends ConfigShape> = { readonly [K in keyof S]: S[K] extends Variable<infer T> ? T : never };

/** Parses every variable and reports all bad ones at once. */
export function loadConfig<S extends ConfigShape>(shape: S, env: Env = process.env): Config<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, variable] of Object.entries(shape)) {
    try {
      out[key] = variable.parse(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  return Object.freeze(out) as Config<S>;
}

/** KAFKA_TOPIC_PREFIX: see prefixedTopics in kafka.ts. */
export const kafkaTopicPrefixVar = (): Variable<string> => {
  const inner = stringVar("KAFKA_TOPIC_PREFIX", "");
  return {
    name: inner.name,
    parse(env) {
      const prefix = inner.parse(env);
      if (!/^[A-Za-z0-9._-]*$/.test(prefix))
        throw new ConfigError(`KAFKA_TOPIC_PREFIX may hold only letters, digits, '.', '_' and '-', got ${JSON.stringify(prefix)}`);
      return prefix;
    },
  };
};
