// hbmon's dashboard: the live document from /api/v1/events, the header, the tab's badge,
// and a tiny hash router. A page is one file that calls hbmon.page(...) and one <nav>
// entry in index.html. Text a writer chose is only ever set as textContent.
"use strict";

const hbmon = (() => {
  const pages = [];
  const state = { doc: null, page: null, params: null, mounted: null };
  const token = (document.querySelector('meta[name="hbmon-token"]') || {}).content || "";
  // With [[serve.token]]s the page is opened as /?token=T (a browser sends no Bearer
  // header on its own): the API calls and the event stream carry the same token.
  const access = new URLSearchParams(location.search).get("token") || "";

  /** An element with a class and text (never markup). */
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** Registers a page: `match(hash)` gives its params or null; `mount(root, params)`
      builds it once; `update(doc)` redraws it from each new document; `keys(event)`. */
  function page(spec) { pages.push(spec); }

  function fmtBytes(n) {
    const units = ["B", "K", "M", "G", "T"];
    let v = n, u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return u === 0 ? n + "B" : v.toFixed(1) + units[u];
  }

  function fmtTime(unix) {
    if (unix === null || unix === undefined) return "-";
    return new Date(unix * 1000).toLocaleString();
  }

  function fmtSpan(secs) {
    if (secs === null || secs === undefined || !isFinite(secs)) return "-";
    secs = Math.max(0, Math.round(secs));
    const d = Math.floor(secs / 86400), h = Math.floor(secs % 86400 / 3600);
    const m = Math.floor(secs % 3600 / 60), s = secs % 60;
    if (d) return d + "d" + (h ? h + "h" : "");
    if (h) return h + "h" + (m ? m + "m" : "");
    if (m) return m + "m" + (s ? s + "s" : "");
    return s + "s";
  }

  /** The ranges a plot shows, in seconds. */
  const RANGES = { "1h": 3600, "24h": 86400, "7d": 604800 };
  const SEVERITIES = new Set(["ok", "none", "warning", "degraded", "critical"]);

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  /** Bands of the states held from `from` to `now`, into `plot` (W wide, H high): one per
      transition (oldest first), coloured by its severity, the state's name as its tooltip.
      With none in the range, `current` ({to, severity, reason}) held all along. */
  function bands(plot, transitions, from, now, current, W, H) {
    const span = now - from;
    const x = (t) => ((Math.max(from, t) - from) / span) * W;
    const held = transitions.length ? transitions : [{ time: from, ...current }];
    held.forEach((t, i) => {
      const end = i + 1 < held.length ? held[i + 1].time : now;
      if (end < from) return;
      const band = svg("rect", { x: x(t.time), y: 0, width: Math.max(1, x(end) - x(t.time)), height: H,
        class: "band-" + (SEVERITIES.has(t.severity) ? t.severity : "none") });
      band.dataset.state = t.to;
      band.appendChild(svg("title")).textContent = t.to + " from " + fmtTime(t.time) + ": " + (t.reason || "");
      plot.append(band);
    });
  }

  /** The management API: JSON in and out, with the session's token. */
  async function api(method, path, body) {
    const init = { method, headers: { "X-Hbmon-Token": token } };
    if (access) init.headers.Authorization = "Bearer " + access;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const reply = await fetch(path, init);
    let json = null;
    try { json = await reply.json(); } catch (_) { json = null; }
    return { ok: reply.ok, status: reply.status, json };
  }

  /** A list page's filter box (#filter, the one `/` focuses): `value` to start with,
      `changed(text)` on each edit. */
  function filterBox(placeholder, label, value, changed) {
    const filter = el("input");
    filter.type = "search";
    filter.id = "filter";
    filter.placeholder = placeholder;
    filter.value = value;
    filter.setAttribute("aria-label", label);
    filter.addEventListener("input", () => changed(filter.value));
    return filter;
  }

  /** The terminal UI's keys on a list page: `/` to its filter (#filter), Escape out of
      it, `j`/`k` to move (`move(step)`), Enter to open what is picked (`open()`). */
  function listKeys(event, typing, move, open) {
    if (event.key === "/" && !typing) { event.preventDefault(); document.getElementById("filter").focus(); }
    else if (event.key === "Escape" && typing) event.target.blur();
    else if (typing) return;
    else if (event.key === "j") move(1);
    else if (event.key === "k") move(-1);
    else if (event.key === "Enter") open();
  }

  /** Runs `act` if the user confirms `question`. */
  function confirmed(question, act) {
    if (window.confirm(question)) act();
  }

  function header(doc) {
    const facts = document.getElementById("facts");
    facts.replaceChildren();
    const sys = doc.system;
    if (sys) {
      facts.append(el("span", "host", sys.host));
      const cpu = sys.cpu_percent === null ? "-" : sys.cpu_percent.toFixed(1) + "%";
      facts.append(el("span", null, "CPU " + cpu));
      facts.append(el("span", null, "RAM " + fmtBytes(sys.memory_used) + "/" + fmtBytes(sys.memory_total)));
      facts.append(el("span", null, "disk " + fmtBytes(sys.disk_used) + "/" + fmtBytes(sys.disk_total)));
    }
    // Counts per state, with the symbol the rows show beside the word.
    const symbols = {}, severities = {};
    for (const p of doc.processes) { symbols[p.state] = p.view.symbol; severities[p.state] = p.severity; }
    for (const [name, count] of Object.entries(doc.counts)) {
      const c = el("span", "count sev-" + (severities[name] || "none"), (symbols[name] || "") + " " + count + " " + name);
      c.dataset.state = name;
      facts.append(c);
    }
    const troubles = document.getElementById("troubles");
    troubles.replaceChildren(...(doc.troubles || []).map((t) => el("div", t.error ? "error" : "", t.text)));
    badge(doc.processes.filter((p) => p.severity === "critical").length, sys ? sys.host : "");
  }

  /** The critical count in the tab's title and a favicon drawn for it. */
  function badge(critical, host) {
    document.title = (critical ? "(" + critical + ") " : "") + "hbmon" + (host ? " — " + host : "");
    const fill = critical ? "#c62828" : "#17803d";
    const label = critical ? String(Math.min(critical, 99)) : "";
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
      '<circle cx="16" cy="16" r="15" fill="' + fill + '"/>' +
      '<text x="16" y="22" font-size="18" font-family="sans-serif" text-anchor="middle" fill="#fff">' +
      label + "</text></svg>";
    document.getElementById("favicon").href = "data:image/svg+xml," + encodeURIComponent(svg);
  }

  function route() {
    const hash = location.hash || "#/";
    for (const spec of pages) {
      const params = spec.match(hash);
      if (params) {
        const view = document.getElementById("view");
        view.replaceChildren();
        state.page = spec;
        state.params = params;
        spec.mount(view, params);
        for (const a of document.querySelectorAll("nav a")) {
          a.classList.toggle("here", a.dataset.page === spec.name);
        }
        if (state.doc) spec.update(state.doc);
        return;
      }
    }
    location.hash = "#/";
  }

  function listen() {
    const conn = document.getElementById("conn");
    // EventSource reconnects by itself; each connection starts with a snapshot.
    const source = new EventSource("/api/v1/events" + (access ? "?token=" + encodeURIComponent(access) : ""));
    const take = (event) => {
      state.doc = JSON.parse(event.data);
      conn.textContent = "live";
      conn.className = "";
      header(state.doc);
      if (state.page) state.page.update(state.doc);
    };
    source.addEventListener("snapshot", take);
    source.addEventListener("update", take);
    source.addEventListener("error", () => {
      conn.textContent = "reconnecting…";
      conn.className = "down";
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
    if (typing && event.key !== "Escape" && event.key !== "Enter") return;
    if (state.page && state.page.keys) state.page.keys(event, typing);
  });

  document.addEventListener("DOMContentLoaded", () => {
    window.addEventListener("hashchange", route);
    route();
    listen();
  });

  return { page, el, api, confirmed, fmtBytes, fmtTime, fmtSpan, state, RANGES, svg, bands, filterBox, listKeys };
})();
