// Serves the built web console (web/dist) for every request that is not an
// RPC. Read-only, GET/HEAD only, never outside its directory.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import type { NodeHandlerFn } from "@kuku/platform";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

// The console loads only its own scripts and talks only to this origin and,
// for live quotes, to the market's WebSocket when that has an origin of its own (ADR 0023).
const securityHeaders = (connectSources: readonly string[]) => ({
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": `default-src 'self'; connect-src ${["'self'", ...connectSources].join(" ")}; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'`,
});

export function staticFiles(root: string, options: { connectSources?: readonly string[] } = {}): NodeHandlerFn {
  const base = normalize(root + sep);
  const SECURITY_HEADERS = securityHeaders(options.connectSources ?? []);
  return (req, res) => {
    void (async () => {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", ...SECURITY_HEADERS });
        res.end();
        return;
      }
      let pathname: string;
      try {
        pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      } catch {
        res.writeHead(400, SECURITY_HEADERS);
        res.end();
        return;
      }
      const candidate = normalize(join(base, pathname));
      if (!candidate.startsWith(base) || pathname.includes("\0")) {
        res.writeHead(404, SECURITY_HEADERS);
        res.end();
        return;
      }
      // Any path without a file is the single-page console itself.
      const file = (await isFile(candidate)) ? candidate : join(base, "index.html");
      if (!(await isFile(file))) {
        res.writeHead(404, SECURITY_HEADERS);
        res.end();
        return;
      }
      const hashed = file.startsWith(join(base, "assets") + sep);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        // Vite fingerprints everything under assets/; index.html must be revalidated.
        "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
        ...SECURITY_HEADERS,
      });
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res as NodeJS.WritableStream);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, SECURITY_HEADERS);
      res.end();
    });
  };
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
