import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

// `npm run dev` / `vite preview` talk to the three services directly (the production web server
// in src/medianest/web does the same proxying on one port).
const env = process.env;
const targets: Record<string, string> = {
  auth: env.MEDIANEST_AUTH_URL ?? "http://127.0.0.1:8002",
  store: env.MEDIANEST_MEDIA_STORE_URL ?? "http://127.0.0.1:8000",
  inference: env.MEDIANEST_INFERENCE_URL ?? "http://127.0.0.1:8001",
};
const proxy: Record<string, ProxyOptions> = Object.fromEntries(
  Object.entries(targets).map(([name, target]) => [
    `/api/${name}`,
    { target, changeOrigin: true, rewrite: (p: string) => p.slice(`/api/${name}`.length) || "/" },
  ]),
);

export default defineConfig({
  plugins: [react()],
  server: { proxy },
  preview: { proxy },
  build: { sourcemap: false, chunkSizeWarningLimit: 600 },
});
