import { defineConfig } from "vitest/config";

// Served under /app/ by the local gateway and by the production static site alike.
export default defineConfig({
  base: "/app/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  test: { environment: "jsdom", include: ["src/**/*.test.ts"] },
});
