// The Worker's ES-module entry: hands each request to Rust and resets the instance after a
// trap, so that one panic cannot poison the requests that follow.
import wasmModule from "./pkg/marquee_worker_bg.wasm";
import { initSync, handle, __wbg_reset_state } from "./pkg/marquee_worker.js";

initSync({ module: wasmModule });

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    try {
      const answer = handle(request.method, url.pathname, env.POPULAR_MOVIES ?? "");
      const headers = new Headers(answer.headers);
      headers.set("content-type", answer.contentType);
      const body = request.method === "HEAD" ? null : answer.body;
      return new Response(body, { status: answer.status, headers });
    } catch (error) {
      // A Rust panic traps the instance: reset it and still answer the contract's way.
      __wbg_reset_state();
      console.error("worker trapped, instance reset:", error);
      const fallback = (env.POPULAR_MOVIES ?? "").split(",").map((id) => id.trim()).filter(Boolean).slice(0, 20);
      const status = url.pathname.startsWith("/recommend/") ? 200 : 503;
      return new Response(status === 200 ? fallback.join(",") : "temporarily unavailable", {
        status,
        headers: { "content-type": "text/plain; charset=utf-8", "x-marquee-fallback": "trap" },
      });
    }
  },
};
