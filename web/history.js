// The History page: the whole fleet's timeline ("what broke overnight") from
// /api/v1/history — a lane of states per process over an hour, a day or a week, and the
// transitions and restarts below, filterable by name and by state, each linking to its
// process; `/` to the filter, j/k to move, Enter to open.
"use strict";

(() => {
  const { el, fmtTime, RANGES, svg } = hbmon;
  const view = { root: null, range: "24h", history: null, asked: 0, seen: null,
    filter: "", state: "", selected: null };

  async function load() {
    const asked = ++view.asked;
    const reply = await hbmon.api("GET", "/api/v1/history?since=" + view.range + "&limit=0");
    if (asked !== view.asked) return;
    view.history = reply.ok ? reply.json : { error: (reply.json && reply.json.error) || "HTTP " + reply.status };
    if (hbmon.state.doc) draw(hbmon.state.doc);
  }

  /** One lane per process: those the monitor shows now and any the range names. */
  function lanes(doc, transitions) {
    const W = 800, H = 14, from = doc.now - RANGES[view.range];
    const byName = new Map(doc.processes.map((p) => [p.name, []]));
    for (const t of transitions) {
      if (!byName.has(t.name)) byName.set(t.name, []);
      byName.get(t.name).push(t);
    }
    const box = el("div", "lanes");
    for (const name of [...byName.keys()].sort()) {
      const own = byName.get(name).sort((a, b) => a.time - b.time);
      // Before its first change in the range it was in that change's `from` state.
      if (own.length && own[0].from && own[0].time > from) {
        own.unshift({ time: from, to: own[0].from, severity: "none", reason: "before " + fmtTime(own[0].time) });
      }
      const now = doc.processes.find((p) => p.name === name);
      const current = now ? { to: now.state, severity: now.severity, reason: now.reason }
        : { to: "gone", severity: "none", reason: "no longer in the file" };
      const row = el("div", "lane");
      row.dataset.name = name;
      const link = el("a", null, name);
      link.href = "#/process/" + encodeURIComponent(name);
      const plot = svg("svg", { class: "plot lane", viewBox: "0 0 " + W + " " + H,
        preserveAspectRatio: "none", role: "img" });
      plot.appendChild(svg("title")).textContent = name + "'s states, last " + view.range;
      hbmon.bands(plot, own, from, doc.now, current, W, H);
      row.append(link, plot);
      box.append(row);
    }
    const axis = el("div", "lane axis");
    axis.append(el("span"), el("span", "ends", fmtTime(from) + " … " + fmtTime(doc.now)));
    box.append(axis);
    return box;
  }

  /** The transitions and restarts, newest first, as the filters choose. */
  function events(history) {
    const words = view.filter.toLowerCase();
    const rows = history.transitions.map((t) => ({ time: t.time, name: t.name, state: t.to,
      severity: t.severity, change: (t.from || "new") + " → " + t.to, reason: t.reason }))
      .concat(history.restarts.map((r) => ({ time: r.time, name: r.name, state: "restart",
        severity: "warning", change: "restart #" + r.count, reason: r.text })))
      .filter((e) => (!view.state || e.state === view.state)
        && (!words || e.name.toLowerCase().includes(words) || (e.reason || "").toLowerCase().includes(words)))
      .sort((a, b) => b.time - a.time);
    if (!rows.length) return el("div", "empty", "no transition in the last " + view.range + " matches");
    const wrap = el("div", "wrap");
    const t = el("table", "events");
    const head = el("tr");
    for (const title of ["TIME", "NAME", "CHANGE", "WHY"]) head.append(el("th", null, title));
    t.appendChild(el("thead")).append(head);
    const body = el("tbody");
    for (const e of rows) {
      const tr = el("tr", e.name === view.selected ? "sel" : "");
      tr.dataset.name = e.name;
      tr.dataset.state = e.state;
      const name = el("td");
      const a = el("a", null, e.name);
      a.href = "#/process/" + encodeURIComponent(e.name);
      name.append(a);
      tr.append(el("td", null, fmtTime(e.time)), name, el("td", "sev-" + e.severity, e.change),
        el("td", "data", e.reason || ""));
      body.append(tr);
    }
    t.append(body);
    wrap.append(t);
    return wrap;
  }

  function draw(doc) {
    if (!view.root) return;
    // A change of any state is a new transition in the history: read it again.
    const seen = doc.processes.map((p) => p.name + "=" + p.state).join(" ");
    if (view.history && view.seen !== null && seen !== view.seen) load();
    view.seen = seen;
    const body = view.root.querySelector(".history");
    const ranges = view.root.querySelector(".ranges");
    for (const b of ranges.children) b.classList.toggle("here", b.dataset.range === view.range);
    if (!view.history) { body.replaceChildren(el("div", "empty", "reading the history…")); return; }
    if (view.history.error) { body.replaceChildren(el("div", "empty", view.history.error)); return; }
    const states = view.root.querySelector("#state");
    const known = new Set([...view.history.transitions.map((t) => t.to), "restart", ...Object.keys(doc.counts)]);
    if (states.options.length !== known.size + 1) {
      states.replaceChildren(el("option", null, "any state"));
      states.options[0].value = "";
      for (const s of [...known].sort()) states.append(el("option", null, s));
      states.value = view.state;
    }
    body.replaceChildren(lanes(doc, view.history.transitions), el("h2", null, "Transitions"),
      events(view.history));
  }

  function move(step) {
    const rows = [...view.root.querySelectorAll("tbody tr")];
    if (!rows.length) return;
    const at = rows.findIndex((tr) => tr.classList.contains("sel"));
    const next = rows[Math.max(0, Math.min(rows.length - 1, at < 0 ? 0 : at + step))];
    for (const tr of rows) tr.classList.toggle("sel", tr === next);
    view.selected = next.dataset.name;
    next.scrollIntoView({ block: "nearest" });
  }

  hbmon.page({
    name: "history",
    match: (hash) => (hash === "#/history" ? {} : null),
    mount(root) {
      view.root = root;
      view.history = null;
      view.seen = null;
      const ranges = el("div", "ranges");
      for (const range of Object.keys(RANGES)) {
        const b = el("button", null, range);
        b.dataset.range = range;
        b.addEventListener("click", () => { view.range = range; view.history = null; load(); });
        ranges.append(b);
      }
      const controls = el("div", "controls");
      const redraw = () => { if (hbmon.state.doc) draw(hbmon.state.doc); };
      const filter = hbmon.filterBox("name or reason (/)", "filter transitions by name or reason", view.filter,
        (text) => { view.filter = text; redraw(); });
      const state = el("select");
      state.id = "state";
      state.setAttribute("aria-label", "only transitions into this state");
      state.addEventListener("change", () => { view.state = state.value; redraw(); });
      controls.append(filter, state, el("span", "hint", "keys: / filter, j/k move, Enter open"));
      root.append(el("h2", null, "What changed, every process"), ranges, controls, el("div", "history"));
      load();
    },
    update: draw,
    keys(event, typing) {
      hbmon.listKeys(event, typing, move, () => {
        if (view.selected) location.hash = "#/process/" + encodeURIComponent(view.selected);
      });
    },
  });
})();
