// The Worker's ES-module entry: hands each request, the bindings and ctx to Rust (which
// gives its deferred writes to ctx.waitUntil), and resets the instance after a trap so that
// one panic cannot poison the requests that follow.
import wasmModule from "./pkg/marquee_worker_bg.wasm";
import { initSync, handle, fallbackList, __wbg_reset_state } from "./pkg/marquee_worker.js";

initSync({ module: wasmModule });

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    try {
      const body =
        request.method === "GET" || request.method === "HEAD" ? new Uint8Array(0) : new Uint8Array(await request.arrayBuffer());
      const answer = await handle(request.method, url.pathname, url.search.slice(1), [...request.headers], body, env, ctx);
      const headers = new Headers(answer.headers);
      headers.set("content-type", answer.contentType);
      // HEAD and 304 (a blob the client already has) must not carry a body.
      const bodyless = request.method === "HEAD" || answer.status === 304;
      return new Response(bodyless ? null : answer.body, { status: answer.status, headers });
    } catch (error) {
      // A Rust panic traps the instance: reset it and still answer the contract's way.
      __wbg_reset_state();
      console.error("worker trapped, instance reset:", error);
      if (!url.pathname.startsWith("/recommend/")) {
        return new Response("temporarily unavailable", {
          status: 503,
          headers: { "content-type": "text/plain; charset=utf-8", "x-marquee-fallback": "trap" },
        });
      }
      let list = "";
      try {
        list = fallbackList();
      } catch {
        list = (env.POPULAR_MOVIES ?? "").split(",").map((id) => id.trim()).filter(Boolean).slice(0, 20).join(",");
      }
      return new Response(list, {
        status: 200,
        headers: { "content-type": "text/plain; charset=utf-8", "x-marquee-fallback": "trap" },
      });
    }
  },
};
