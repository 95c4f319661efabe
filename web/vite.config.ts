import { defineConfig } from "vite";

// The console is served by the vidimus binary itself (embedded from dist/), so asset
// paths are absolute from the root. `npm run dev` proxies the API to a running vidimus.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", emptyOutDir: true, assetsInlineLimit: 0, sourcemap: false },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", ws: true },
    },
  },
});
