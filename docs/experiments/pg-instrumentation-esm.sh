#!/usr/bin/env bash
# ADR 0015's experiment: does @opentelemetry/instrumentation-pg produce spans
# for an ESM program like ours? Installs the pinned packages in a scratch
# directory and counts spans for one pool.query, with the instrumentation
# registered (a) from a --import preload, (b) the same plus the ESM loader
# hook, (c) from the program after `import pg` (where initTracing runs).
# Needs the project's PostgreSQL (make infra).
set -euo pipefail
PG_URL=${KUKU_TEST_PG_URL:-postgres://kuku:kuku@127.0.0.1:55432/postgres}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
echo '{"type":"module","private":true}' >package.json
npm install --silent --no-audit --no-fund -E @opentelemetry/api@1.10.0 @opentelemetry/sdk-trace@3.1.0 \
  @opentelemetry/context-async-hooks@3.1.0 @opentelemetry/instrumentation@0.301.1 \
  @opentelemetry/instrumentation-pg@0.77.0 pg@8.23.1 2>/dev/null
cat >register.mjs <<'EOF'
import { context, trace } from "@opentelemetry/api";
import { TracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
const done = [];
export const exporter = { export(spans, cb) { done.push(...spans); cb({ code: 0 }); }, shutdown: async () => {}, spans: () => done };
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
registerInstrumentations({ instrumentations: [new PgInstrumentation()] });
EOF
cat >query.mjs <<'EOF'
import { trace } from "@opentelemetry/api";
export async function queryAndCount(pg, exporter) {
  const pool = new pg.Pool({ connectionString: process.env.PG_URL });
  await trace.getTracer("t").startActiveSpan("root", async (s) => { await pool.query("SELECT 1"); s.end(); });
  await pool.end();
  await new Promise((r) => setTimeout(r, 50));
  return exporter.spans().map((s) => s.name).filter((n) => n !== "root");
}
EOF
cat >early.mjs <<'EOF'
import pg from "pg";
import { exporter } from "./register.mjs";
import { queryAndCount } from "./query.mjs";
console.log(JSON.stringify(await queryAndCount(pg, exporter)));
EOF
cat >late.mjs <<'EOF'
import pg from "pg";
const { exporter } = await import("./register.mjs");
const { queryAndCount } = await import("./query.mjs");
console.log(JSON.stringify(await queryAndCount(pg, exporter)));
EOF
export PG_URL
echo "(a) --import preload:           $(node --import ./register.mjs early.mjs)"
echo "(b) preload + ESM loader hook:  $(node --import ./register.mjs --experimental-loader=@opentelemetry/instrumentation/hook.mjs early.mjs 2>/dev/null)"
echo "(c) registered after import pg: $(node late.mjs)"
