import { resolve } from "node:path";
import { defineConfig } from "vite";

// The server embeds the built files; `KAGURA_WEB_OUT` (set by server/build.rs) says where to
// build them. Pages: obs.html (the OBS browser source / avatar page).
export default defineConfig({
  build: {
    outDir: process.env.KAGURA_WEB_OUT ?? "dist",
    emptyOutDir: true,
    target: "es2022",
    rollupOptions: { input: { obs: resolve(import.meta.dirname, "obs.html") } },
    // three.js and three-vrm make one ~800 kB bundle, served locally: no need to split it.
    chunkSizeWarningLimit: 1200,
  },
  test: { include: ["test/**/*.test.ts"] },
});
