#!/usr/bin/env node
// Prints a fresh set of service identity keys (ADR 0021) as environment
// lines: <PREFIX>_IDENTITY_KEY for every service in the list, the operator's
// (OPERATOR_IDENTITY_KEY: kuku-bench, drills, grpcurl), and KUKU_IDENTITY_TRUST.
// make up appends them to .run/secrets.env once; compose and k8s take them
// from there or from a Secret made with the same output.
import { generateIdentityKeys, OPERATOR } from "../packages/platform/dist/index.js";
import { SERVICES } from "../packages/testkit/dist/services.js";

const { keys, trust } = generateIdentityKeys([...SERVICES.map((s) => s.name), OPERATOR]);
for (const s of SERVICES) console.log(`${s.envPrefix}_IDENTITY_KEY=${keys[s.name]}`);
console.log(`OPERATOR_IDENTITY_KEY=${keys[OPERATOR]}`);
console.log(`KUKU_IDENTITY_TRUST=${trust}`);
