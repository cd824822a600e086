// One process: its data, PID and command, runs, probes, and from its history an SVG state
// timeline and beat-gap plot over an hour, a day or a week; and its actions, each
// confirmed: pause/resume, remove, restart/stop.
"use strict";

(() => {
  const { el, fmtTime, fmtSpan, RANGES, svg } = hbmon;
  const view = { name: null, root: null, range: "1h", history: null, asked: 0, said: null };

  function facts(pairs) {
    const dl = el("dl", "facts");
    for (const [term, value] of pairs) {
      if (value === undefined || value === null || value === "") continue;
      dl.append(el("dt", null, term), el("dd", null, value));
    }
    return dl;
  }

  function summary(p, now) {
    const e = p.entry || {};
    const os = p.process;
    return facts([
      ["name", p.name],
      ["label", p.label],
      ["state", p.view.symbol + " " + p.state],
      ["why", p.reason],
      ["since", p.since ? fmtTime(p.since) + " (" + fmtSpan(now - p.since) + ")" : null],
      ["PID", p.pid],
      ["command", os ? os.cmd : null],
      ["alive since", os ? fmtTime(os.start_time) : (p.pid ? "not running" : null)],
      ["last beat", p.last_heartbeat ? fmtTime(p.last_heartbeat) + " (" + fmtSpan(p.since_beat) + " ago)" : "never"],
      ["beats", e.beats],
      ["kind", p.rules.kind],
      ["next due", p.next_due ? fmtTime(p.next_due) : null],
      ["depends on", p.depends_on.join(", ")],
      ["blocked by", p.blocked_by.join(", ")],
      ["data", e.additional_data === undefined ? null : JSON.stringify(e.additional_data)],
    ]);
  }

  function runs(p) {
    const e = p.entry || {};
    const box = el("section");
    box.append(el("h2", null, "Runs"));
    const rows = p.runs.map((r) => [r.run_id, fmtTime(r.started_at), "running", fmtSpan(r.running_for), "-"]);
    if (e.started_at || e.finished_at) {
      rows.push([e.status || "", fmtTime(e.started_at), e.finished_at ? fmtTime(e.finished_at) : "-",
        fmtSpan(e.duration), e.exit_code === undefined ? "-" : String(e.exit_code)]);
    }
    if (!rows.length) box.append(el("div", "empty", "no runs reported"));
    else box.append(grid(["run", "start", "end", "duration", "exit"], rows));
    const tail = e.additional_data && e.additional_data.output_tail;
    if (tail) {
      box.append(el("h2", null, "Output tail"));
      box.append(el("pre", "tail", tail));
    }
    return box;
  }

  function probes(p) {
    const box = el("section");
    box.append(el("h2", null, "Probes"));
    if (!p.probes.length) { box.append(el("div", "empty", "no probes")); return box; }
    const ms = (v) => (v === null || v === undefined ? "-" : v.toFixed(1) + "ms");
    box.append(grid(["kind", "target", "verdict", "last", "p50", "p95", "fails", "error"],
      p.probes.map((r) => [r.kind, r.target, r.ok === null ? "-" : (r.failing ? "failing" : "ok"),
        ms(r.last_ms), ms(r.p50_ms), ms(r.p95_ms), String(r.fails), r.last_error || ""])));
    return box;
  }

  function grid(titles, rows) {
    const wrap = el("div", "wrap");
    const t = el("table");
    const head = el("tr");
    for (const title of titles) head.append(el("th", null, title));
    t.appendChild(el("thead")).append(head);
    const body = el("tbody");
    for (const row of rows) {
      const tr = el("tr");
      for (const cell of row) tr.append(el("td", null, cell));
      body.append(tr);
    }
    t.append(body);
    wrap.append(t);
    return wrap;
  }

  /** The state timeline of `p`: a band per state held, coloured by its severity, the
      state's name as its tooltip; and the gaps between beats, over the same range. */
  function plots(history, now, p) {
    const span = RANGES[view.range], from = now - span, W = 800, H = 40, G = 120;
    const x = (t) => ((Math.max(from, t) - from) / span) * W;
    const box = el("div");
    const timeline = svg("svg", { class: "plot timeline", viewBox: "0 0 " + W + " " + (H + 14), role: "img" });
    timeline.appendChild(svg("title")).textContent = "state timeline, last " + view.range;
    // The state held as the range begins (the newest transition before it, which the
    // API gives as `before`) fills the timeline from its left edge to the first change.
    const transitions = (history.before ? [history.before] : [])
      .concat([...history.transitions].sort((a, b) => a.time - b.time));
    hbmon.bands(timeline, transitions, from, now, { to: p.state, severity: p.severity, reason: p.reason }, W, H);
    const label = (node, at, text) => { const t = svg("text", { x: at, y: H + 12 }); t.textContent = text; node.append(t); };
    label(timeline, 0, fmtTime(from));
    label(timeline, W - 120, fmtTime(now));
    box.append(el("h2", null, "State timeline"), timeline);

    const beats = history.beats.map((b) => b.time).filter((t) => t >= from).sort((a, b) => a - b);
    const gaps = beats.slice(1).map((t, i) => [t, t - beats[i]]);
    const most = Math.max(1, ...gaps.map(([, g]) => g));
    const plot = svg("svg", { class: "plot gaps", viewBox: "0 0 " + W + " " + (G + 14), role: "img" });
    plot.appendChild(svg("title")).textContent = "seconds between beats, last " + view.range;
    plot.append(svg("line", { class: "axis", x1: 0, y1: G, x2: W, y2: G }));
    if (gaps.length) {
      const points = gaps.map(([t, g]) => x(t).toFixed(1) + "," + (G - (g / most) * (G - 4)).toFixed(1)).join(" ");
      plot.append(svg("polyline", { class: "gap", points }));
    }
    label(plot, 0, "max gap " + fmtSpan(most) + " · " + beats.length + " beats");
    box.append(el("h2", null, "Beat gaps"), plot);
    return box;
  }

  async function loadHistory() {
    const asked = ++view.asked;
    const path = "/api/v1/processes/" + encodeURIComponent(view.name) + "/history?since=" + view.range + "&limit=0";
    const reply = await hbmon.api("GET", path);
    if (asked !== view.asked) return;
    view.history = reply.ok ? reply.json : { error: (reply.json && reply.json.error) || "HTTP " + reply.status };
    if (hbmon.state.doc) draw(hbmon.state.doc);
  }

  function actions(p) {
    const box = el("div", "actions");
    // Kept across redraws (one a second), until the next action.
    const message = el("span", "message" + (view.said && view.said.error ? " error" : ""), view.said && view.said.text);
    const act = (label, question, method, path) => {
      const button = el("button", null, label);
      button.dataset.action = label.toLowerCase();
      button.addEventListener("click", () => hbmon.confirmed(question, async () => {
        const reply = await hbmon.api(method, path);
        view.said = { error: !reply.ok,
          text: reply.ok ? label + ": done" : (reply.json && reply.json.error) || "HTTP " + reply.status };
        message.className = "message" + (reply.ok ? "" : " error");
        message.textContent = view.said.text;
        view.actions = null;
        if (reply.ok && method === "DELETE") location.hash = "#/";
      }));
      box.append(button);
    };
    const base = "/api/v1/processes/" + encodeURIComponent(p.name);
    if (p.state === "paused") act("Resume", "Resume " + p.name + "?", "POST", base + "/resume");
    else act("Pause", "Pause " + p.name + " until resumed?", "POST", base + "/pause");
    if (p.monitored) {
      act("Restart", "Restart " + p.name + "?", "POST", base + "/restart");
      act("Stop", "Stop " + p.name + " (it stays stopped until started)?", "POST", base + "/stop");
    }
    if (p.monitored) act("Remove", "Remove " + p.name + " from the config?", "DELETE", base);
    box.append(message);
    return box;
  }

  function draw(doc) {
    if (!view.root) return;
    const p = doc.processes.find((q) => q.name === view.name);
    const body = view.root.querySelector(".process");
    if (!p) { body.replaceChildren(el("div", "empty", "no process " + view.name)); return; }
    const ranges = el("div", "ranges");
    for (const range of Object.keys(RANGES)) {
      const b = el("button", range === view.range ? "here" : "", range);
      b.dataset.range = range;
      b.addEventListener("click", () => { view.range = range; loadHistory(); });
      ranges.append(b);
    }
    let history;
    if (!view.history) history = el("div", "empty", "reading the history…");
    else if (view.history.error) history = el("div", "empty", view.history.error);
    else history = plots(view.history, doc.now, p);
    // The buttons stay while what they offer does: a redraw (one a second) must not take
    // one from under a click or the keyboard's focus.
    const offer = p.name + " " + (p.state === "paused") + " " + p.monitored;
    if (!view.actions || view.offer !== offer) { view.actions = actions(p); view.offer = offer; }
    body.replaceChildren(el("h2", "title sev-" + p.severity, p.view.symbol + " " + p.display_name + " — " + p.state),
      view.actions, summary(p, doc.now), runs(p), probes(p), ranges, history);
  }

  hbmon.page({
    name: "process",
    match: (hash) => {
      const m = /^#\/process\/(.+)$/.exec(hash);
      return m ? { name: decodeURIComponent(m[1]) } : null;
    },
    mount(root, params) {
      view.root = root;
      view.name = params.name;
      view.history = null;
      view.said = null;
      view.actions = null;
      const back = el("a", null, "← overview");
      back.href = "#/";
      root.append(back, el("div", "process"));
      loadHistory();
    },
    update: draw,
    keys(event, typing) {
      if (!typing && (event.key === "Escape" || event.key === "Backspace")) location.hash = "#/";
    },
  });
})();
