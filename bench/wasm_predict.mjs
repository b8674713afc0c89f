// Times Marquee's tree inference compiled to wasm (the Worker's build, worker/pkg) in Node:
//   node bench/wasm_predict.mjs MODEL.blob ROWS.f32 FEATURES
// Prints {"threads": 1, "ns_per_row_batch1": .., "ns_per_row_batch1000": ..} on stdout: Node's one
// thread, process.hrtime around LoadedModel.predict calls (the JS-to-wasm copy of the rows included).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initSync, LoadedModel } from "../worker/pkg/marquee_worker.js";

const [blobPath, rowsPath, featuresText] = process.argv.slice(2);
const wasm = readFileSync(fileURLToPath(new URL("../worker/pkg/marquee_worker_bg.wasm", import.meta.url)));
initSync({ module: new WebAssembly.Module(wasm) });

const features = Number(featuresText);
const bytes = readFileSync(rowsPath);
const rows = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const model = new LoadedModel(new Uint8Array(readFileSync(blobPath)));
const totalRows = Math.min(1000, rows.length / features);

function nsPerRow(batch, repeats) {
  const out = new Float32Array(batch);
  const slices = [];
  for (let start = 0; start + batch <= totalRows; start += batch) {
    slices.push(rows.subarray(start * features, (start + batch) * features));
  }
  for (const slice of slices) model.predict(slice, out); // warm up the JIT tiers
  const begin = process.hrtime.bigint();
  let scored = 0;
  for (let r = 0; r < repeats; r++) {
    for (const slice of slices) {
      model.predict(slice, out);
      scored += batch;
    }
  }
  return Number(process.hrtime.bigint() - begin) / scored;
}

console.log(JSON.stringify({ threads: 1, ns_per_row_batch1: nsPerRow(1, 3), ns_per_row_batch1000: nsPerRow(totalRows, 20) }));
