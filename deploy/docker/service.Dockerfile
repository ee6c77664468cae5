# One image recipe for every service (each service's Dockerfile links here).
# Build from the repository root, since services share the generated
# contracts and the platform library:
#   docker build -f services/order/Dockerfile --build-arg SERVICE=order -t kuku/order .
# Not built by the tests: this machine has no Docker engine (ADR 0003).
# The Node major .nvmrc pins (every script, test and service runs on it).
ARG NODE_IMAGE=node:26-slim

FROM ${NODE_IMAGE} AS build
ARG SERVICE
RUN test -n "$SERVICE" || (echo "--build-arg SERVICE=<ledger|order|exchange|market|gateway> is required" >&2; exit 1)
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
 && npx tsc -b "services/$SERVICE" \
 && if [ "$SERVICE" = gateway ]; then npm run build -w @kuku/web; fi \
 && npm prune --omit=dev --no-audit --no-fund
# Only what the service runs: its dist and migrations, the shared packages, node_modules.
RUN mkdir -p "/out/services/$SERVICE" /out/packages/contracts /out/packages/platform \
 && cp -r node_modules /out/ \
 && for p in contracts platform; do cp -r "packages/$p/package.json" "packages/$p/dist" "/out/packages/$p/"; done \
 && cp -r "services/$SERVICE/package.json" "services/$SERVICE/dist" "/out/services/$SERVICE/" \
 && if [ -d "services/$SERVICE/migrations" ]; then cp -r "services/$SERVICE/migrations" "/out/services/$SERVICE/"; fi \
 && if [ "$SERVICE" = gateway ]; then mkdir -p /out/web && cp -r web/dist /out/web/; fi

FROM ${NODE_IMAGE}
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build --chown=node:node /out ./
USER node
WORKDIR /app/services/${SERVICE}
# Every service listens on one port for gRPC, gRPC-Web and Connect, and on an
# admin port for /metrics and HTTP health; in a container both bind all
# interfaces (<SERVICE>_HOST, <SERVICE>_ADMIN_HOST=0.0.0.0).
CMD ["sh", "-c", "P=$(echo \"$SERVICE\" | tr a-z A-Z) && export \"${P}_HOST=0.0.0.0\" \"${P}_ADMIN_HOST=0.0.0.0\" && exec node dist/main.js"]
