// The local half of a fault drill: the fault specs of Istio VirtualServices
// (mesh/drills/*.yaml) applied by a client interceptor, so that one
// file drives both the mesh drill and the drill on a laptop. Istio's rules
// as far as they matter here: the first route whose match fits wins, no
// match list matches everything, a fault without a percentage never fires.
import { readFileSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { parseAllDocuments } from "yaml";
import { deadlineExceeded, pathOf } from "./grpc-js-transport.js";

export interface FaultRule {
  /** Path prefixes or exact paths (`/kuku.exchange.v1.ExchangeService/SubmitOrder`); empty: every call. */
  readonly matches: readonly ((path: string) => boolean)[];
  readonly delay?: { readonly fixedDelayMs: number; readonly percent: number };
  readonly abort?: { readonly code: Code; readonly percent: number };
}

interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}
interface IstioRoute {
  match?: { uri?: StringMatch }[];
  fault?: {
    delay?: { fixedDelay?: string; percentage?: { value?: number } };
    abort?: { grpcStatus?: string; httpStatus?: number; percentage?: { value?: number } };
  };
}

/** The fault rules the VirtualServices in `yamlText` set for calls to `target` (a service name such as "exchange"). */
export function faultsFromIstio(yamlText: string, target: string): FaultRule[] {
  const rules: FaultRule[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    if (doc.errors.length > 0) throw new Error(`fault file: ${doc.errors[0]!.message}`);
    const resource = doc.toJS() as { kind?: string; spec?: { hosts?: string[]; http?: IstioRoute[] } } | null;
    if (resource?.kind !== "VirtualService") continue;
    // "exchange", "exchange.kuku" and "exchange.kuku.svc.cluster.local" all name the service.
    if (!(resource.spec?.hosts ?? []).some((h) => h.split(".")[0] === target)) continue;
    for (const route of resource.spec?.http ?? []) rules.push(ruleFrom(route));
  }
  return rules;
}

/**
 * The rules of a fault file that may come and go while the service runs, as
 * `kubectl apply -k mesh/drills/<name>` does to a running mesh:
 * re-read when its modification time changes (looked at most every
 * `checkIntervalMs`); no file, no faults. A file that cannot be read keeps
 * the rules in force and is reported to `onError`.
 */
export function watchFaultFile(
  path: string,
  target: string,
  options: { checkIntervalMs: number; onError: (error: unknown) => void },
): () => readonly FaultRule[] {
  let rules: readonly FaultRule[] = [];
  let seenMtimeMs = -1;
  let checkedAt = -Infinity;
  return () => {
    const now = performance.now();
    if (now - checkedAt < options.checkIntervalMs) return rules;
    checkedAt = now;
    const mtimeMs = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (mtimeMs === seenMtimeMs) return rules;
    try {
      rules = mtimeMs === 0 ? [] : faultsFromIstio(readFileSync(path, "utf8"), target);
      seenMtimeMs = mtimeMs;
    } catch (error) {
      options.onError(error);
    }
    return rules;
  };
}

function ruleFrom(route: IstioRoute): FaultRule {
  const matches = (route.match ?? []).map((m) => uriMatcher(m.uri));
  const { delay, abort } = route.fault ?? {};
  if (abort?.httpStatus !== undefined && abort.grpcStatus === undefined) {
    throw new Error("fault file: abort.httpStatus has no gRPC meaning here; use abort.grpcStatus");
  }
  return {
    matches,
    ...(delay?.fixedDelay !== undefined
      ? { delay: { fixedDelayMs: durationMs(delay.fixedDelay), percent: delay.percentage?.value ?? 0 } }
      : {}),
    ...(abort?.grpcStatus !== undefined ? { abort: { code: grpcCode(abort.grpcStatus), percent: abort.percentage?.value ?? 0 } } : {}),
  };
}

function uriMatcher(uri: StringMatch | undefined): (path: string) => boolean {
  if (uri?.exact !== undefined) return (p) => p === uri.exact;
  if (uri?.prefix !== undefined) return (p) => p.startsWith(uri.prefix!);
  if (uri?.regex !== undefined) {
    const re = new RegExp(`^(?:${uri.regex})$`); // Envoy's regexes match the whole path
    return (p) => re.test(p);
  }
  return () => true;
}

/** Istio durations: "7s", "1.5s", "250ms". */
export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (m === null) throw new Error(`fault file: ${text} is not a duration such as 2s or 250ms`);
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * factor);
}

/** "UNAVAILABLE", "DEADLINE_EXCEEDED" → connect's Code. */
export function grpcCode(name: string): Code {
  const camel = name.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
  const code = (Code as unknown as Record<string, Code | undefined>)[camel];
  if (code === undefined || name === "OK") throw new Error(`fault file: ${name} is not a gRPC status name`);
  return code;
}

/** What a drill does to one call: wait `delayMs` first (0: no wait), then fail with `abort` (if set) instead of sending it. */
export interface InjectedFault {
  readonly delayMs: number;
  readonly abort: ConnectError | undefined;
}

/**
 * The first rule whose match fits the call decides its fault: the delay,
 * then the abort, each with its own probability; undefined when nothing
 * fires. Shared by the interceptor below and the service client's unary path.
 */
export function faultChooser(
  faults: readonly FaultRule[] | (() => readonly FaultRule[]),
  random: () => number = Math.random,
): (method: DescMethod) => InjectedFault | undefined {
  const current = typeof faults === "function" ? faults : () => faults;
  return (method) => {
    const rules = current();
    if (rules.length === 0) return undefined;
    const path = pathOf(method);
    const rule = rules.find((r) => r.matches.length === 0 || r.matches.some((m) => m(path)));
    const delayMs = rule?.delay !== undefined && random() * 100 < rule.delay.percent ? rule.delay.fixedDelayMs : 0;
    const abort =
      rule?.abort !== undefined && random() * 100 < rule.abort.percent
        ? new ConnectError(`fault injected: ${Code[rule.abort.code]} (${path})`, rule.abort.code)
        : undefined;
    return delayMs === 0 && abort === undefined ? undefined : { delayMs, abort };
  };
}

/**
 * Applies the faults (faultChooser) to a Connect client's calls. It runs
 * closest to the wire (last interceptor), so the caller's policies see the
 * faults as a real network would show them.
 */
export function faultInjectionInterceptor(
  faults: readonly FaultRule[] | (() => readonly FaultRule[]),
  random: () => number = Math.random,
): Interceptor {
  const choose = faultChooser(faults, random);
  return (next) => (req) => {
    const fault = choose(req.method);
    return fault === undefined ? next(req) : suffer(fault, req.signal).then(() => next(req));
  };
}

/**
 * The fault's delay (cut short by `signal`, and at `deadline`, which then
 * fails the call as out of time), then its abort: the request is never sent.
 */
export async function suffer(fault: InjectedFault, signal: AbortSignal | undefined, deadline = Number.POSITIVE_INFINITY): Promise<void> {
  if (fault.delayMs > 0) {
    const leftMs = deadline - Date.now();
    await sleep(Math.max(0, Math.min(fault.delayMs, leftMs)), undefined, signal === undefined ? undefined : { signal });
    if (leftMs < fault.delayMs) throw deadlineExceeded();
  }
  if (fault.abort !== undefined) throw fault.abort;
}
