// Starts a Worker script from worker/ inside workerd through Miniflare, with the module
// rules the wasm-bindgen output needs (Miniflare treats .js as CommonJS by default), an R2
// bucket and a D1 database with the repo's migrations applied.
import { readdirSync, readFileSync } from "node:fs";
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
    r2Buckets: ["MODELS"],
    d1Databases: ["DB"],
    bindings,
    // A free loopback port too, for clients outside this process (the marquee CLI).
    host: "127.0.0.1",
    port: 0,
  });
  mf.url = await mf.ready;
  await applyMigrations(await mf.getD1Database("DB"));
  return mf;
}

// Splits SQL on `;`, keeping a trigger's `BEGIN ... END` body (which holds `;`s) whole, as
// wrangler's own splitter does.
function splitStatements(sql) {
  const statements = [];
  let pending = "";
  for (const piece of sql.split(";")) {
    pending = pending ? `${pending};${piece}` : piece;
    const text = pending.trim();
    if (/^CREATE\s+TRIGGER\b/i.test(text) && !/\bEND$/i.test(text)) continue;
    if (text) statements.push(text);
    pending = "";
  }
  return statements;
}

// The same files `wrangler d1 migrations apply` runs, statement by statement.
async function applyMigrations(db) {
  const dir = new URL("../migrations/", import.meta.url);
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".sql")).sort()) {
    const sql = readFileSync(new URL(file, dir), "utf8")
      .split("\n")
      .filter((line) => !line.trim().startsWith("--"))
      .join("\n");
    for (const statement of splitStatements(sql)) {
      await db.prepare(statement).run();
    }
  }
}
