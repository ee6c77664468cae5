#!/usr/bin/env node
// A short-lived operator token for one service, for grpcurl and curl against
// the internal services (ADR 0021):
//   .tools/bin/grpcurl -plaintext -H "authorization: Bearer $(node scripts/operator-token.mjs kuku.ledger.v1.LedgerService)" ...
// Reads OPERATOR_IDENTITY_KEY and KUKU_IDENTITY_TRUST from the environment,
// else from .run/secrets.env (written by make up).
import { existsSync, readFileSync } from "node:fs";
import { identityFrom, mintToken, OPERATOR } from "../packages/platform/dist/index.js";

const audience = process.argv[2];
if (audience === undefined || !/^kuku\.[a-z]+\.v1\.[A-Za-z]+Service$/.test(audience)) {
  console.error("usage: node scripts/operator-token.mjs <service, e.g. kuku.ledger.v1.LedgerService>");
  process.exit(2);
}
const file = new URL("../.run/secrets.env", import.meta.url);
const saved = existsSync(file)
  ? Object.fromEntries(
      readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    )
  : {};
const variable = (name) => process.env[name] || saved[name];
const key = variable("OPERATOR_IDENTITY_KEY");
const trust = variable("KUKU_IDENTITY_TRUST");
if (!key || !trust) {
  console.error("no OPERATOR_IDENTITY_KEY and KUKU_IDENTITY_TRUST: run make up (it writes .run/secrets.env) or export them");
  process.exit(1);
}
console.log(await mintToken(identityFrom(OPERATOR, key, trust), audience));
