// Live parts: every element with data-live="URL" asks that URL again every data-live-every seconds and
// swaps the answer in (no page reload). The ETag it was rendered with goes back as If-None-Match, so an
// unchanged part is a 304 with no body. Skipped while the page is hidden, a field inside it is in use or
// the pointer is on one of its links or buttons;
// a sign-in page in the answer (the session ended) reloads the page, which then asks to sign in.
(function () {
  "use strict";
  function watch(el) {
    let tag = el.getAttribute("data-live-etag");
    const every = Number(el.getAttribute("data-live-every") || 5) * 1000;
    let busy = false;
    async function tick() {
      if (busy || document.hidden) return;
      const active = document.activeElement;
      if (active && el.contains(active) && active.matches("input, select, textarea")) return;
      if (el.querySelector("a:hover, button:hover, select:hover")) return; // about to click: leave it be
      busy = true;
      try {
        const headers = { "X-Requested-With": "live" };
        if (tag) headers["If-None-Match"] = tag;
        const r = await fetch(el.getAttribute("data-live"), { headers: headers, credentials: "same-origin", cache: "no-store" });
        if (r.redirected) { window.location.reload(); return; }
        if (r.status !== 200) return;
        tag = r.headers.get("ETag");
        el.innerHTML = await r.text();
        el.setAttribute("data-live-updated", String(Date.now()));
        el.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
      } catch (e) {
        // the server is restarting or the network dropped: try again at the next tick
      } finally {
        busy = false;
      }
    }
    window.setInterval(tick, every);
  }
  document.querySelectorAll("[data-live]").forEach(watch);
})();
