// hbmon's dashboard: the live document from /api/v1/events (a snapshot, then the
// changes of each check applied to it), the header, the tab's badge, and a tiny hash
// router. A page is one file that calls hbmon.page(...) and one <nav>
// entry in index.html. Text a writer chose is only ever set as textContent.
"use strict";

const hbmon = (() => {
  const pages = [];
  const state = { doc: null, seq: null, ranks: [], page: null, params: null, mounted: null };
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

  /** The server's compact span (Rust's duration::format_secs): 850ms, 42s, 4m12s,
      3h05m, 2d04h. The page writes the ages the server leaves it with it, so both must
      write the same text. */
  function fmtSecs(secs) {
    if (!isFinite(secs)) return "-";
    if (secs < 1) return Math.max(0, Math.round(secs * 1000)) + "ms";
    const total = Math.floor(secs), two = (n) => String(n).padStart(2, "0");
    const d = Math.floor(total / 86400), h = Math.floor(total % 86400 / 3600);
    const m = Math.floor(total % 3600 / 60), s = total % 60;
    if (d) return d + "d" + two(h) + "h";
    if (h) return h + "h" + two(m) + "m";
    if (m) return m + "m" + two(s) + "s";
    return s + "s";
  }

  /** A beat further in the future than this many seconds reads "in …" (Rust's
      health::SKEW_TOLERANCE). */
  const SKEW_TOLERANCE = 1;

  /** Notes what the server left out of a row it sent because it only counts time
      (api/events/delta.rs): those the page counts from each event's `now`. */
  function counted(p) {
    p.$counted = { since: !("since_beat" in p), runtime: !("runtime" in p), cells: [] };
    p.view.cells.forEach((c, i) => { if (c === null) p.$counted.cells.push(i); });
    for (const r of p.runs) r.$counted = !("running_for" in r);
  }

  /** Counts a row's ages to `now`, as the server would have written them. */
  function tick(p, now, at) {
    const c = p.$counted;
    const age = p.last_heartbeat === null ? null : now - p.last_heartbeat;
    const runtime = p.process ? Math.max(0, now - p.process.start_time) : null;
    if (c.since) p.since_beat = age;
    if (c.runtime) p.runtime = runtime;
    for (const r of p.runs) if (r.$counted) r.running_for = Math.max(0, now - r.started_at);
    if (p.reason_ago) p.reason = p.reason_ago[0] + fmtSecs(age) + p.reason_ago[1];
    for (const i of c.cells) {
      if (i === at.runtime) {
        const secs = runtime === null ? null : Math.round(runtime);
        p.view.cells[i] = secs === null ? "-" : (secs < 1 ? "0s" : fmtSecs(secs));
      } else if (i === at.lastBeat) {
        p.view.cells[i] = age === null ? "never"
          : (age < -SKEW_TOLERANCE ? "in " + fmtSecs(-age) : fmtSecs(Math.max(0, age)) + " ago");
      }
    }
  }

  /** Gives every row of `doc` its sort ranks (`ranks`: per column, in row order) and
      its ages at `doc.now`. */
  function settle(doc, ranks) {
    const at = {
      runtime: doc.columns.findIndex((c) => c.title === "RUNTIME"),
      lastBeat: doc.columns.findIndex((c) => c.title === "LAST BEAT"),
    };
    doc.processes.forEach((p, i) => {
      p.view.ranks = ranks.map((column) => column[i]);
      tick(p, doc.now, at);
    });
  }

  /** The document after `update` (api/events/delta.rs): its rows changed and removed,
      and its header, host figures, order and ranks when they changed. */
  function apply(doc, update) {
    const rows = new Map(doc.processes.map((p) => [p.name, p]));
    for (const name of update.removed) rows.delete(name);
    for (const p of update.changed) { counted(p); rows.set(p.name, p); }
    const names = update.names || doc.processes.map((p) => p.name);
    const next = update.head ? update.head : doc;
    next.system = update.system || doc.system;
    next.processes = names.map((name) => rows.get(name)).filter(Boolean);
    next.now = update.now;
    return next;
  }

  function listen() {
    const conn = document.getElementById("conn");
    // EventSource reconnects by itself; each connection starts with a snapshot, then
    // updates that each apply to the one before (`base`).
    const source = new EventSource("/api/v1/events" + (access ? "?token=" + encodeURIComponent(access) : ""));
    const take = (doc, ranks) => {
      settle(doc, ranks);
      state.doc = doc;
      conn.textContent = "live";
      conn.className = "";
      header(state.doc);
      if (state.page) state.page.update(state.doc);
    };
    source.addEventListener("snapshot", (event) => {
      const doc = JSON.parse(event.data);
      doc.processes.forEach(counted);
      state.seq = doc.seq;
      state.ranks = doc.ranks;
      take(doc, doc.ranks);
    });
    source.addEventListener("update", (event) => {
      const update = JSON.parse(event.data);
      if (!state.doc || update.base !== state.seq) {
        // A gap: what this page holds is not what the update changes. A new
        // connection starts from a snapshot.
        source.close();
        state.doc = null;
        listen();
        return;
      }
      state.seq = update.seq;
      if (update.ranks) state.ranks = update.ranks;
      take(apply(state.doc, update), state.ranks);
    });
    // The server could not build this check's document: what is on the page is the last
    // one it could, so the page says it is not live (the next snapshot makes it live).
    source.addEventListener("failure", (event) => {
      conn.textContent = "not live: " + event.data;
      conn.className = "down";
    });
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
