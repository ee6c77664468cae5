// The admin listener: /metrics and HTTP health on a port of their own, so the
// public port (reached by the ingress, other services and the internet) never
// serves them, and a manifest can expose one without the other (ADR 0015).
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { intVar, stringVar } from "./config.js";
import { type HealthRegistry, ServingStatus } from "./health.js";
import { metricsText } from "./metrics.js";

/** `<PREFIX>_ADMIN_HOST` (loopback unless a scraper outside the host needs it) and `<PREFIX>_ADMIN_PORT`. */
export function adminConfigShape(prefix: string, defaultPort: number) {
  return {
    adminHost: stringVar(`${prefix}_ADMIN_HOST`, "127.0.0.1"),
    adminPort: intVar(`${prefix}_ADMIN_PORT`, defaultPort, { min: 0, max: 65535 }),
  };
}

export interface AdminListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * GET /metrics (Prometheus text), GET /healthz (the process answers: liveness)
 * and GET /readyz (200 while the server is SERVING, 503 from the start of a
 * drain: readiness). Anything else is 404.
 */
export async function startAdminListener(options: {
  readonly host: string;
  readonly port: number;
  readonly health: HealthRegistry;
  readonly logger: Logger;
}): Promise<AdminListener> {
  const server = http.createServer((req, res) => {
    const path = req.url?.split("?", 1)[0];
    if (req.method !== "GET" && req.method !== "HEAD") return answer(res, 405, "GET only\n");
    if (path === "/metrics") return serveMetrics(res, options.logger);
    if (path === "/healthz") return answer(res, 200, "ok\n");
    if (path === "/readyz") {
      const serving = options.health.get("") === ServingStatus.SERVING;
      return answer(res, serving ? 200 : 503, serving ? "ready\n" : "not ready\n");
    }
    answer(res, 404, "not found\n");
  });
  // Scrapes are short; a connection kept open must not hold up the process's exit.
  server.keepAliveTimeout = 1_000;
  server.listen(options.port, options.host);
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answer(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  res.end(body);
}

function serveMetrics(res: http.ServerResponse, logger: Logger): void {
  metricsText().then(
    ({ contentType, body }) => {
      res.writeHead(200, { "content-type": contentType });
      res.end(body);
    },
    (error: unknown) => {
      logger.error({ err: error }, "collecting metrics failed");
      answer(res, 500, "collecting metrics failed\n");
    },
  );
}
