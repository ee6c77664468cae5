// Connect-Web clients for the gateway. The access token lives in memory; the
// refresh token in sessionStorage (this tab only), so a reload keeps the
// session and closing the tab ends it. An expired access token is refreshed
// once, transparently.
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AccountService } from "@kuku/contracts/kuku/gateway/v1/accounts_pb";
import { AuthService, type Tokens, TradingService } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";

const baseUrl = (import.meta.env["VITE_GATEWAY_URL"] as string | undefined) ?? window.location.origin;
const REFRESH_KEY = "kuku.refresh";
const USER_KEY = "kuku.user";

let accessToken: string | undefined;
let refreshing: Promise<boolean> | undefined;

export const auth = createClient(AuthService, createConnectTransport({ baseUrl }));

export function startSession(tokens: Tokens | undefined, email: string): void {
  if (tokens === undefined) throw new Error("no tokens in the answer");
  accessToken = tokens.accessToken;
  sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  sessionStorage.setItem(USER_KEY, email);
}

export function sessionUser(): string | undefined {
  return sessionStorage.getItem(USER_KEY) ?? undefined;
}

export async function endSession(): Promise<void> {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  accessToken = undefined;
  sessionStorage.removeItem(REFRESH_KEY);
  sessionStorage.removeItem(USER_KEY);
  if (refreshToken !== null) await auth.logOut({ refreshToken }).catch(() => undefined);
}

/** Exchanges the stored refresh token for new tokens; false when the session is over. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (refreshToken === null) return false;
    try {
      const { tokens } = await auth.refreshToken({ refreshToken });
      startSession(tokens, sessionUser() ?? "");
      return true;
    } catch {
      sessionStorage.removeItem(REFRESH_KEY);
      return false;
    }
  })().finally(() => (refreshing = undefined));
  return refreshing;
}

const bearer: Interceptor = (next) => async (req) => {
  if (accessToken === undefined && !(await refresh())) throw new ConnectError("not logged in", Code.Unauthenticated);
  req.header.set("authorization", `Bearer ${accessToken}`);
  try {
    return await next(req);
  } catch (error) {
    const e = ConnectError.from(error);
    if (e.code !== Code.Unauthenticated || !e.rawMessage.includes("expired") || !(await refresh())) throw error;
    req.header.set("authorization", `Bearer ${accessToken}`);
    return next(req);
  }
};

let accountId = "";

/** The paper account every trading call acts on from now on ("" the user's first). */
export function useAccount(id: string): void {
  accountId = id;
}

// Every trading request names the chosen account, so no view has to.
const onAccount: Interceptor = (next) => (req) => {
  if (req.method.input.field["accountId"] === undefined) return next(req);
  if (!req.stream) return next({ ...req, message: { ...req.message, accountId } as typeof req.message });
  const messages = req.message;
  return next({
    ...req,
    message: (async function* () {
      for await (const m of messages) yield { ...m, accountId } as typeof m;
    })(),
  });
};

export const trading = createClient(TradingService, createConnectTransport({ baseUrl, interceptors: [bearer, onAccount] }));
export const accounts = createClient(AccountService, createConnectTransport({ baseUrl, interceptors: [bearer] }));

export function errorText(error: unknown): string {
  const e = ConnectError.from(error);
  return e.rawMessage;
}
export { Code, ConnectError };
