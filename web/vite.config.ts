import { defineConfig } from "vite";

export default defineConfig({
  // bigint literals in the tick rules need ES2020+.
  build: { outDir: "dist", target: "es2022", emptyOutDir: true },
  // `npm run dev -w @kuku/web` serves on 5173, the origin the gateway allows by CORS by default.
  server: { host: "127.0.0.1", port: 5173 },
});
