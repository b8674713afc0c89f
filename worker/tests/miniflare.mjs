// Starts a Worker script from worker/ inside workerd through Miniflare, with the module
// rules the wasm-bindgen output needs (Miniflare treats .js as CommonJS by default).
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const workerDir = fileURLToPath(new URL("..", import.meta.url));

export async function startWorker(scriptPath, bindings = {}) {
  const mf = new Miniflare({
    rootPath: workerDir,
    scriptPath,
    modules: true,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings,
  });
  await mf.ready;
  return mf;
}
