// Log in / sign up.
import { auth, Code, ConnectError, errorText, startSession } from "../api.js";
import { el, replace } from "../dom.js";
import { page } from "./page.js";

function authError(e: unknown): string {
  const ce = ConnectError.from(e);
  switch (ce.code) {
    case Code.Unauthenticated:
      return "이메일 또는 비밀번호가 틀렸습니다 · E-mail or password is wrong";
    case Code.AlreadyExists:
      return "이미 가입된 이메일입니다 · This e-mail already has an account";
    case Code.InvalidArgument:
      return `입력값 확인 · Check your input: ${ce.rawMessage}`;
    case Code.ResourceExhausted:
      return `잠시 후 다시 시도 · Too many attempts: ${ce.rawMessage}`;
    default:
      return errorText(e);
  }
}

function authFields() {
  return {
    email: el("input", {
      type: "email",
      placeholder: "you@example.com",
      autocomplete: "username",
      "data-testid": "auth-email",
      required: true,
    }),
    password: el("input", {
      type: "password",
      placeholder: "10자 이상 · at least 10 characters",
      autocomplete: "current-password",
      "data-testid": "auth-password",
      required: true,
    }),
    displayName: el("input", { type: "text", placeholder: "홍길동", "data-testid": "auth-name" }),
    error: el("p", { class: "error", "data-testid": "auth-error" }),
    submit: el("button", { type: "submit", class: "primary", "data-testid": "auth-submit" }, "로그인 Log in"),
  };
}

/** The log-in form (sign-up one tab away); once the gateway answers with tokens, `onSession`. */
export function renderAuth(onSession: () => Promise<void>, message?: string): void {
  replace(page.session);
  let mode: "login" | "signup" = "login";
  const { email, password, displayName, error, submit } = authFields();
  error.textContent = message ?? "";
  const nameRow = el("label", { class: "hidden" }, "이름 Name", displayName);
  const tabLogin = el("button", { type: "button", class: "tab active", "data-testid": "tab-login" }, "로그인 Log in");
  const tabSignup = el("button", { type: "button", class: "tab", "data-testid": "tab-signup" }, "회원가입 Sign up");
  const setMode = (m: typeof mode) => {
    mode = m;
    tabLogin.classList.toggle("active", m === "login");
    tabSignup.classList.toggle("active", m === "signup");
    nameRow.classList.toggle("hidden", m === "login");
    submit.textContent = m === "login" ? "로그인 Log in" : "가입하고 시작 Sign up";
    error.textContent = "";
  };
  tabLogin.addEventListener("click", () => setMode("login"));
  tabSignup.addEventListener("click", () => setMode("signup"));
  const form = el(
    "form",
    { class: "auth card" },
    el("h1", {}, "모의투자 시작하기", el("small", {}, "Start paper trading")),
    el("div", { class: "tabs" }, tabLogin, tabSignup),
    el("label", {}, "이메일 E-mail", email),
    el("label", {}, "비밀번호 Password", password),
    nameRow,
    error,
    submit,
    el("p", { class: "muted small" }, "가상 원화로 거래합니다. 실제 돈은 오가지 않습니다. · Mock KRW only; no real money moves."),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    const done =
      mode === "login"
        ? auth.logIn({ email: email.value, password: password.value })
        : auth.signUp({ email: email.value, password: password.value, displayName: displayName.value || email.value.split("@")[0]! });
    done
      .then((res) => {
        startSession(res.tokens, email.value);
        return onSession();
      })
      .catch((e: unknown) => (error.textContent = authError(e)))
      .finally(() => (submit.disabled = false));
  });
  replace(page.app, el("div", { class: "auth-wrap" }, form));
}
