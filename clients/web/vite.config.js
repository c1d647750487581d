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
  },
  test: { include: ["test/**/*.test.ts"] },
});
