import { defineConfig } from "vitest/config";

// Hashed file names under /app/ (the server keeps /assets/ for its own pictures); no source maps, so the
// committed bundle is small and the same on every build of the same sources.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    assetsDir: "app",
    emptyOutDir: true,
    sourcemap: false,
    modulePreload: { polyfill: false },
    target: "es2022",
    // GraphiQL (its own page, never loaded by the app) is one large chunk.
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: { main: "index.html", graphiql: "graphiql.html" },
      // GraphiQL's dependencies mark themselves "use client" (a React Server Components hint, moot here).
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
  },
  test: { environment: "node", include: ["test/**/*.test.ts"] },
});
