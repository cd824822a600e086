// The Send heartbeats page: every way to send one, filled in with this serve's own file
// (the document's `file`), its base URL (the page's own origin) and a name the user types,
// each snippet with a copy button. A configured process's healthchecks.io and Uptime Kuma
// URLs are its own, from its management API row's `ping_paths` (shown only to who may
// write: each holds a secret). What the snippets say is what the README and
// docs/recipes.md say; a browser test runs the shell, curl, Python and ping URL ones as
// rendered.
"use strict";

(() => {
  const { el } = hbmon;
  // `ping`: what the management API said of the process called `name` (its row's
  // `ping_paths`, and whether they were withheld from this page's token); `null` until it
  // answered, or for a name that is no process.
  const view = { root: null, name: "my-job", file: null, ping: null, asking: null };

  /** `text` as one shell word: single-quoted unless it is plainly safe. */
  function sh(text) {
    return /^[A-Za-z0-9_\-./:=@%+,]+$/.test(text) ? text : "'" + text.replace(/'/g, "'\\''") + "'";
  }

  /** `text` as a JSON string literal: what Python, JavaScript and Rust all read. */
  const lit = (text) => JSON.stringify(text);

  /** The healthchecks.io and Uptime Kuma snippets: [id, title, what it is for, text],
      with the process's own ping paths where the API gave them, else placeholders and
      the keys that would make them. */
  function pingUrls(name, base, ping) {
    const paths = (ping && ping.paths) || {};
    const url = (path) => sh(base + path);
    const asks = ping && ping.withheld
      ? "; its ping URLs are secrets, shown only to a token with the write scope"
      : "";
    const unset = [];
    if (!paths.uuid) unset.push("uuid = \"<uuid>\"");
    if (!paths.slug) unset.push("slug = \"<slug>\"");
    const hc = (unset.length ? "# hbmon.toml: [[process]] name = " + lit(name) + "  " + unset.join("  ") + "\n" : "") +
      (paths.slug ? "" : "# [serve] ping_key = \"<ping-key>\"\n") +
      "curl -fsS -m 10 " + (paths.uuid ? url(paths.uuid) : base + "/ping/<uuid>") + "\n" +
      "curl -fsS -m 10 " + (paths.slug ? url(paths.slug + "/start") : base + "/ping/<ping-key>/<slug>/start");
    const push = (paths.push ? "" : "# hbmon.toml: [[process]] name = " + lit(name) + "  push_token = \"<token>\"\n") +
      "curl -fsS -m 10 " + sh(base + (paths.push || "/api/push/<token>") + "?status=up&msg=OK&ping=");
    return [
      ["healthchecks", "healthchecks.io URLs", paths.uuid || paths.slug
        ? "this process's own URLs: healthchecks.io's clients work unchanged"
        : "give the [[process]] a uuid, or a slug and [serve] ping_key, and its clients work unchanged" + asks, hc],
      ["kuma", "Uptime Kuma push URL", paths.push
        ? "this process's own push URL: Uptime Kuma's push monitors work unchanged"
        : "give the [[process]] a push_token; its push monitors' URL works unchanged" + asks, push],
    ];
  }

  /** Every snippet: [id, title, what it is for, text], from the name, file and base URL. */
  function snippets(name, file, base) {
    const ping = base + "/ping/" + encodeURIComponent(name);
    const hb = "hbmon --file " + sh(file);
    return [
      ["shell", "Shell", "one beat from a script or a terminal (`hbmon beat`)",
        hb + " beat " + sh(name) + " --interval 60s"],
      ["cron", "cron with hbmon run", "a job's run: start, end, exit code, duration and output tail",
        "*/15 * * * * " + hb + " run " + sh(name) + " --interval 15m -- /path/to/job.sh"],
      ["curl", "curl (cron, a container, anything)", "a ping to this serve; /start, /fail or /EXIT_CODE after the name report a run",
        "curl -fsS -m 10 --retry 3 " + sh(ping)],
      ["cron-curl", "cron with curl", "the job's exit code as the ping's last segment",
        "*/15 * * * * /path/to/job.sh; curl -fsS -m 10 --retry 3 " + sh(ping) + "/$?"],
      ["python", "Python", "the python/ package (pip install ./python): one beat, or a loop's heartbeat",
        "import hbmon\n\n" +
        "hbmon.beat(" + lit(name) + ", {\"rows\": 1234}, file=" + lit(file) + ")\n\n" +
        "# a long-running loop:\n" +
        "# with hbmon.Heartbeat(" + lit(name) + ", interval=30, file=" + lit(file) + ") as hb:\n" +
        "#     for item in queue:\n" +
        "#         handle(item)\n" +
        "#         hb.pulse()"],
      ["python-asyncio", "Python (asyncio)", "the file's work off the event loop",
        "import asyncio\nimport hbmon\n\n\nasync def main():\n" +
        "    async with hbmon.AsyncHeartbeat(" + lit(name) + ", interval=30, file=" + lit(file) + ") as hb:\n" +
        "        while True:\n            await work()\n            await hb.pulse()\n\n\nasyncio.run(main())"],
      ["node", "Node.js", "the node/ package (npm install ./node), beating through this serve",
        "// HBMON_URL=" + base + " node app.js\n" +
        "const { beat, Heartbeat } = require(\"hbmon\");\n\n" +
        "await beat(" + lit(name) + ", { rows: 1234 });\n" +
        "const hb = await new Heartbeat(" + lit(name) + ", { interval: 30 }).start();\n" +
        "hb.pulse(); // from the work loop"],
      ["rust", "Rust", "the hbmon crate's Heartbeat: a thread beats while the handle lives",
        "let hb = hbmon::Heartbeat::new(" + lit(name) + ")\n" +
        "    .interval(std::time::Duration::from_secs(30))\n" +
        "    .file(" + lit(file) + ")\n    .start()?;\n" +
        "loop {\n    work()?;\n    hb.pulse();\n}"],
      ["systemd", "systemd / sd_notify", "a daemon that speaks sd_notify beats through hbmon run --notify (its READY=1 and WATCHDOG=1 become beats)",
        "[Service]\nType=simple\n" +
        "ExecStart=%h/.cargo/bin/hbmon --file " + sh(file) + " run " + sh(name) +
        " --kind app --notify --interval 30s -- %h/app/daemon\nRestart=on-failure"],
      ["docker", "Docker HEALTHCHECK", "hbmon status's exit code (0 ok, 1 warning, 2 critical) as Docker's healthy or not; a merely late process is not restarted",
        "ENV HBMON_FILE=/run/hbmon/heartbeat_status.json\n" +
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --retries=3 \\\n" +
        "  CMD hbmon status " + sh(name) + " >/dev/null || [ $? -eq 1 ]"],
      ...pingUrls(name, base, view.ping && view.ping.name === name ? view.ping : null),
    ];
  }

  /** Copies `text`: the Clipboard API where the page may use it, else a selected
      textarea and the old copy command (a page over plain HTTP off loopback). */
  async function copy(text, button) {
    let done = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        done = true;
      }
    } catch (_) { done = false; }
    if (!done) {
      const area = el("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.append(area);
      area.select();
      try { done = document.execCommand("copy"); } catch (_) { done = false; }
      area.remove();
    }
    button.textContent = done ? "copied" : "select and copy by hand";
    setTimeout(() => { button.textContent = "copy"; }, 1500);
  }

  /** Asks the management API for the row of the process called `name` (its ping
      paths), a moment after the last keystroke, and redraws with what it said. */
  function lookUp(name) {
    clearTimeout(view.asking);
    view.asking = setTimeout(async () => {
      const reply = await hbmon.api("GET", "/api/v1/processes/" + encodeURIComponent(name));
      if (name !== (view.name || "my-job")) return;
      // Only the row of this very name: a label finds its process's row too, whose
      // ping URLs are not this heartbeat's.
      const found = reply.ok && reply.json && reply.json.processes[0];
      const row = found && found.name === name ? found : null;
      const ping = row ? { name, paths: row.ping_paths || null, withheld: row.monitored && !row.ping_paths } : null;
      // Redrawn only for news: a redraw takes a copy button from under a click.
      if (JSON.stringify(ping) === JSON.stringify(view.ping)) return;
      view.ping = ping;
      draw();
    }, 250);
  }

  function draw() {
    if (!view.root || view.file === null) return;
    const box = view.root.querySelector(".snippets");
    const name = view.name || "my-job";
    box.replaceChildren(...snippets(name, view.file, location.origin).map(([id, title, why, text]) => {
      const section = el("section", "snippet");
      const bar = el("div", "bar");
      const button = el("button", null, "copy");
      button.dataset.copy = id;
      button.addEventListener("click", () => copy(text, button));
      bar.append(el("h2", null, title), button);
      const pre = el("pre", "code", text);
      pre.dataset.snippet = id;
      section.append(bar, el("div", "why", why), pre);
      return section;
    }));
  }

  hbmon.page({
    name: "send",
    match: (hash) => (hash === "#/send" ? {} : null),
    mount(root) {
      view.root = root;
      const controls = el("div", "controls");
      const label = el("label", null, "name ");
      const input = el("input");
      input.id = "send-name";
      input.value = view.name;
      input.setAttribute("aria-label", "the heartbeat's name, in every snippet");
      input.addEventListener("input", () => { view.name = input.value; draw(); lookUp(view.name || "my-job"); });
      label.append(input);
      controls.append(label, el("span", "hint", "the snippets write to this serve's file and URL"));
      root.append(el("h2", null, "Send heartbeats"), controls, el("div", "snippets"));
      draw();
      lookUp(view.name || "my-job");
    },
    update(doc) {
      // Drawn once the file is known, then only when the name changes: a redraw each
      // second would take a selection from under the user's mouse.
      if (view.file !== doc.file) { view.file = doc.file; draw(); }
    },
  });
})();
