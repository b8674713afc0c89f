// A test-only Worker: loads the posted model blob with the Worker's own wasm build and
// returns the predictions for the posted rows, as raw little-endian f32 bytes.
import wasmModule from "../pkg/marquee_worker_bg.wasm";
import { initSync, LoadedModel } from "../pkg/marquee_worker.js";

initSync({ module: wasmModule });

export default {
  async fetch(request) {
    // The body: the blob's length (u32, little-endian), the blob, then the rows as f32s.
    const body = await request.arrayBuffer();
    const blobLength = new DataView(body).getUint32(0, true);
    const blob = new Uint8Array(body, 4, blobLength);
    const rows = new Float32Array(body.slice(4 + blobLength));
    const model = new LoadedModel(blob);
    const out = new Float32Array(rows.length / model.numFeatures);
    model.predict(rows, out);
    return new Response(out.buffer);
  },
};
