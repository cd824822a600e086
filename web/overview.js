// The overview: both tables with the terminal UI's columns (titles, cells, order and drop
// ranks all come from the server's document), a filter (`/`), sorting by a column's
// header, "problems only", and j/k/Enter to pick and open a process.
"use strict";

(() => {
  const { el } = hbmon;
  const PROBLEMS = new Set(["warning", "degraded", "critical"]);
  const view = { sort: 1, desc: false, filter: "", problems: false, selected: null, root: null };

  function visible(doc) {
    const words = view.filter.toLowerCase();
    let rows = doc.processes.filter((p) => !view.problems || PROBLEMS.has(p.severity));
    if (words) {
      rows = rows.filter((p) =>
        [p.name, p.display_name, p.state, p.reason].some((t) => (t || "").toLowerCase().includes(words)));
    }
    const by = view.sort;
    rows.sort((a, b) => (a.view.ranks[by] - b.view.ranks[by]) * (view.desc ? -1 : 1));
    return rows;
  }

  function table(title, doc, rows) {
    const section = el("section");
    section.append(el("h2", null, title + " (" + rows.length + ")"));
    if (!rows.length) {
      section.append(el("div", "empty", "none"));
      return section;
    }
    const wrap = el("div", "wrap");
    const t = el("table");
    const head = el("tr");
    doc.columns.forEach((c, i) => {
      const th = el("th", c.align === "right" ? "right" : "");
      const arrow = i === view.sort ? (view.desc ? " ▲" : " ▼") : "";
      const button = el("button", null, c.title + arrow);
      button.title = "sort by " + c.title.toLowerCase();
      button.addEventListener("click", () => {
        if (view.sort === i) view.desc = !view.desc; else { view.sort = i; view.desc = false; }
        draw(doc);
      });
      th.dataset.col = i;
      th.append(button);
      head.append(th);
    });
    t.appendChild(el("thead")).append(head);
    const body = el("tbody");
    const stateAt = doc.columns.findIndex((c) => c.title === "STATE");
    const nameAt = doc.columns.findIndex((c) => c.title === "NAME");
    for (const p of rows) {
      const tr = el("tr");
      tr.dataset.name = p.name;
      tr.dataset.state = p.state;
      if (p.name === view.selected) tr.className = "sel";
      p.view.cells.forEach((text, i) => {
        const c = doc.columns[i];
        let cls = c.align === "right" ? "right" : (c.title === "DATA" ? "data" : "");
        if (i === stateAt) cls = "sev-" + p.severity;
        const td = el("td", cls);
        td.dataset.col = i;
        if (i === nameAt) {
          const a = el("a", null, text);
          a.href = "#/process/" + encodeURIComponent(p.name);
          td.append(a);
        } else {
          td.textContent = text;
        }
        if (i === stateAt) td.title = p.reason;
        tr.append(td);
      });
      tr.addEventListener("click", (event) => {
        if (event.target.tagName !== "A") { view.selected = p.name; mark(); }
      });
      body.append(tr);
    }
    t.append(body);
    wrap.append(t);
    section.append(wrap);
    return section;
  }

  /** Drops columns lowest rank first, as the terminal UI does, while a table is wider
      than the screen; what cannot be dropped scrolls inside its box. */
  function fit(doc) {
    const ranked = doc.columns.map((c, i) => [c.drop, i]).filter(([d]) => d !== null)
      .sort((a, b) => a[0] - b[0]);
    for (const wrap of view.root.querySelectorAll(".wrap")) {
      const table = wrap.firstChild;
      for (const [, col] of ranked) {
        if (table.scrollWidth <= wrap.clientWidth) break;
        for (const cell of table.querySelectorAll('[data-col="' + col + '"]')) cell.classList.add("dropped");
      }
    }
  }

  function draw(doc) {
    if (!view.root) return;
    const tables = view.root.querySelector(".tables");
    const rows = visible(doc);
    tables.replaceChildren(
      table("Monitored", doc, rows.filter((p) => p.monitored)),
      table("Additional heartbeat processes", doc, rows.filter((p) => !p.monitored)),
    );
    fit(doc);
  }

  function mark() {
    for (const tr of view.root.querySelectorAll("tbody tr")) {
      tr.classList.toggle("sel", tr.dataset.name === view.selected);
      if (tr.dataset.name === view.selected) tr.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    const names = [...view.root.querySelectorAll("tbody tr")].map((tr) => tr.dataset.name);
    if (!names.length) return;
    const at = names.indexOf(view.selected);
    view.selected = names[Math.max(0, Math.min(names.length - 1, at < 0 ? 0 : at + step))];
    mark();
  }

  hbmon.page({
    name: "overview",
    match: (hash) => (hash === "#/" || hash === "#" ? {} : null),
    mount(root) {
      view.root = root;
      const controls = el("div", "controls");
      const filter = hbmon.filterBox("filter (/)", "filter processes", view.filter,
        (text) => { view.filter = text; if (hbmon.state.doc) draw(hbmon.state.doc); });
      const label = el("label");
      const problems = el("input");
      problems.type = "checkbox";
      problems.id = "problems";
      problems.checked = view.problems;
      problems.addEventListener("change", () => { view.problems = problems.checked; if (hbmon.state.doc) draw(hbmon.state.doc); });
      label.append(problems, " problems only");
      controls.append(filter, label, el("span", "hint", "keys: / filter, j/k move, Enter open"));
      root.append(controls, el("div", "tables"));
    },
    update: draw,
    keys(event, typing) {
      hbmon.listKeys(event, typing, move, () => {
        if (view.selected) location.hash = "#/process/" + encodeURIComponent(view.selected);
      });
    },
  });
})();
