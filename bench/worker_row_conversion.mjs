// Times the Worker's D1 row conversion in Node (the same V8 as workerd), on a wasm build
// made with the `row-conversion-bench` feature (`cargo xtask bench-rows` builds it and runs this):
//   node bench/worker_row_conversion.mjs PKG_DIR
// For each page size it converts the same D1-shaped log rows (as `all()` returns them) by
// each path, on one thread, and prints µs per row. The timer covers the whole conversion,
// JS side included (for the JSON paths, JSON.stringify runs inside the timed call), and
// nothing else: no D1, no HTTP.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const pkg = resolve(process.argv[2] ?? "target/row-bench-pkg");
const { initSync, convertLogRows } = await import(pathToFileURL(`${pkg}/marquee_worker.js`).href);
initSync({ module: new WebAssembly.Module(readFileSync(`${pkg}/marquee_worker_bg.wasm`)) });

// Rows shaped like `GET /v1/admin/log`'s: impressions (a 20-id list) and events, in turn.
function rows(count) {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? { seq: i + 1, id: `r${(i * 2654435761) % 4294967296}`, kind: "impression", time_ms: 1700000000000 + i,
          user_id: 100000 + i, movie_id: null, value: Array.from({ length: 20 }, (_, j) => `movie+${i + j}+1999`).join(","),
          variant: "control", version: "m0123456789ab", ref: null, latency_us: 850 }
      : { seq: i + 1, id: `j${i}`, kind: "watch", time_ms: 1700000000000 + i, user_id: 100000 + i,
          movie_id: `movie+${i}+1999`, value: "12", variant: null, version: null, ref: null, latency_us: null },
  );
}

const paths = ["json-map", "json-typed", "serde-wasm-bindgen"];
const results = [];
for (const size of [1, 20, 1000]) {
  const page = rows(size);
  const repeat = Math.max(1, Math.round(200000 / size));
  for (const path of paths) convertLogRows(page, path, Math.max(1, Math.round(repeat / 10))); // warm the JIT tiers
  const row = { rows_per_page: size };
  for (let round = 0; round < 3; round++) {
    for (const path of paths) {
      const begin = process.hrtime.bigint();
      const converted = convertLogRows(page, path, repeat);
      const micros = Number(process.hrtime.bigint() - begin) / 1000 / converted;
      row[path] = Math.min(row[path] ?? Infinity, micros);
    }
  }
  results.push(row);
}
console.log("D1 row conversion, µs per row (best of 3; Node, 1 thread; timer: the conversion call only)");
console.log("rows/page  json-map (before)  json-typed  serde-wasm-bindgen (now)  now ÷ before");
for (const row of results) {
  const ratio = row["serde-wasm-bindgen"] / row["json-map"];
  console.log(
    `${String(row.rows_per_page).padStart(9)}  ${row["json-map"].toFixed(3).padStart(17)}  ` +
      `${row["json-typed"].toFixed(3).padStart(10)}  ${row["serde-wasm-bindgen"].toFixed(3).padStart(24)}  ${ratio.toFixed(2).padStart(12)}`,
  );
}
console.log(JSON.stringify(results));
