// hbmon heartbeats from Node.js, with no dependencies.
//
// Node has no flock(2), which every writer of heartbeat_status.json must take (hbmon's
// DESIGN.md, "Rules every writer follows"), so this module never writes the file itself.
// Each beat is one event handed to a transport:
//   - `http`: with $HBMON_URL set (e.g. http://127.0.0.1:4266), a POST to a running
//     `hbmon serve`'s /ping/NAME API (docs/serve.md): no process spawned, but no PID either,
//     so a crash shows as missed beats rather than at once;
//   - `cli`: otherwise `hbmon beat NAME --pid <this process> ...` ($HBMON_BIN, default
//     `hbmon` on PATH), which takes the lock and records this PID.
// HBMON_DEBUG=1 says on stderr which one each beat takes. serve's beat sink (hbmon issue
// 17), when it exists, is one more transport: a function beside `http` and `cli` below and
// one more case in transport().

'use strict';

const { execFile } = require('node:child_process');
const { randomUUID } = require('node:crypto');

/** Seconds a beat may take before it is given up (the lock may be held by a stuck peer). */
const BEAT_TIMEOUT_MS = 10_000;

function transport() {
  const url = process.env.HBMON_URL;
  if (url) return { kind: 'http', url: url.replace(/\/+$/, '') };
  return { kind: 'cli', bin: process.env.HBMON_BIN || 'hbmon' };
}

function debug(line) {
  if (process.env.HBMON_DEBUG === '1') console.error(`hbmon: ${line}`);
}

function checkName(name) {
  if (typeof name !== 'string' || name === '') throw new TypeError('hbmon: a heartbeat name must be a non-empty string');
}

function checkInterval(interval) {
  if (interval !== undefined && !(Number.isFinite(interval) && interval > 0)) {
    throw new TypeError(`hbmon: interval must be a positive number of seconds, not ${interval}`);
  }
}

// An event: { name, status: 'alive' | 'error' | 'stopped' | 'start' | 'end', data, interval,
// kind, error, code (end), runId (start, end) }.

function viaHttp(url, ev) {
  let path = `/ping/${encodeURIComponent(ev.name)}`;
  const query = new URLSearchParams();
  if (ev.status === 'start') path += '/start';
  if (ev.status === 'end') path += `/${ev.code}`;
  // A run's start and end carry its id, as hbmon run's do: overlapping runs stay apart.
  if (ev.runId) query.set('rid', ev.runId);
  if (ev.interval !== undefined) query.set('interval', `${ev.interval}s`);
  if (ev.kind) query.set('kind', ev.kind);
  if (ev.status === 'error') query.set('status', 'error');
  if (ev.status === 'stopped') query.set('status', 'stopped');
  if (ev.error !== undefined) query.set('msg', ev.error);
  const qs = query.toString();
  const target = `${url}${path}${qs ? `?${qs}` : ''}`;
  debug(`beat ${ev.name} through hbmon serve: POST ${target}`);
  const body = ev.data === undefined ? '' : JSON.stringify(ev.data);
  return fetch(target, {
    method: 'POST',
    body,
    headers: body ? { 'content-type': 'application/json' } : {},
    signal: AbortSignal.timeout(BEAT_TIMEOUT_MS),
  }).then(
    async (res) => {
      if (!res.ok) throw new Error(`hbmon serve at ${url}: ${res.status}: ${(await res.text()).trim()}`);
    },
    (err) => {
      throw new Error(`hbmon serve at ${url}: ${err.cause?.message || err.message}`);
    },
  );
}

function viaCli(bin, ev) {
  const args = ['beat', ev.name, '-q', '--pid', String(process.pid)];
  if (ev.interval !== undefined) args.push('--interval', `${ev.interval}s`);
  // A run's start and end, with its id: hbmon beat writes them as hbmon run does.
  if (ev.status === 'start') args.push('--start');
  if (ev.status === 'end') args.push('--exit-code', String(ev.code));
  if (ev.runId) args.push('--run-id', ev.runId);
  const kind = ev.status === 'start' || ev.status === 'end' ? 'job' : ev.kind;
  if (kind) args.push('--kind', kind);
  if (ev.data !== undefined) args.push('--data', JSON.stringify(ev.data));
  if (ev.error !== undefined) args.push('--error', String(ev.error));
  if (ev.status === 'stopped') args.push('--stopped');
  debug(`beat ${ev.name} through ${bin} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: BEAT_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err) reject(new Error(stderr.trim() || `${bin}: ${err.message}`));
      else resolve();
    });
  });
}

function send(ev) {
  const t = transport();
  return t.kind === 'http' ? viaHttp(t.url, ev) : viaCli(t.bin, ev);
}

/**
 * Writes one heartbeat for `name`; `data` (any JSON value) replaces additional_data, none
 * keeps it. Resolves when written; rejects with hbmon's (or serve's) error line.
 */
function beat(name, data, { interval, kind, error, stopped } = {}) {
  checkName(name);
  checkInterval(interval);
  if (error !== undefined && stopped) throw new TypeError('hbmon: a beat is either an error or a stop, not both');
  const status = stopped ? 'stopped' : error !== undefined ? 'error' : 'alive';
  return send({ name, status, data, interval, kind, error: error === undefined ? undefined : String(error) });
}

// --- Heartbeat and stop signals ----------------------------------------------------------

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'];
/** How long the stopped beats of a stop signal may take before the process ends anyway. */
const SIGNAL_STOP_MS = 2_000;
const live = new Set();
const installed = new Map();

function onStopSignal(signal) {
  const reason = `stopped by ${signal}`;
  const stops = [...live].map((hb) => hb._stopWith({ reason }).catch((err) => console.error(`hbmon: heartbeat ${hb.name}: ${err.message}`)));
  const deadline = new Promise((resolve) => setTimeout(resolve, SIGNAL_STOP_MS).unref());
  Promise.race([Promise.all(stops), deadline]).then(() => {
    uninstall();
    // As without hbmon: the default action ends the process by this signal.
    process.kill(process.pid, signal);
  });
}

function install() {
  for (const signal of STOP_SIGNALS) {
    // A signal the program listens for is its own: never taken over.
    if (installed.has(signal) || process.listenerCount(signal) > 0) continue;
    const handler = () => onStopSignal(signal);
    installed.set(signal, handler);
    process.once(signal, handler);
  }
}

function uninstall() {
  for (const [signal, handler] of installed) process.removeListener(signal, handler);
  installed.clear();
}

class Heartbeat {
  /**
   * A long-running process's heartbeat: `pulse()` from the work loop, cheaply; a beat goes
   * out at most every interval/4, and only if pulsed since the last one, so a hung process
   * stops beating. SIGTERM, SIGINT and SIGHUP with no listener become a clean `stopped`
   * beat (reason in additional_data), then end the process by that signal as before.
   */
  constructor(name, { interval = 30, kind, data, handleSignals = true } = {}) {
    checkName(name);
    checkInterval(interval);
    this.name = name;
    this.interval = interval;
    this._kind = kind;
    this._data = data;
    this._handleSignals = handleSignals;
    this._pulsed = false;
    this._timer = null;
    this._inFlight = Promise.resolve();
    this._failing = false;
  }

  async start() {
    if (this._timer) throw new Error(`hbmon: heartbeat ${this.name} is already started`);
    await this._beat({});
    this._timer = setInterval(() => this._tick(), Math.max(this.interval / 4, 0.01) * 1000);
    // The heartbeat alone does not keep the process running.
    this._timer.unref();
    live.add(this);
    if (this._handleSignals) install();
    return this;
  }

  pulse() {
    this._pulsed = true;
  }

  setData(data) {
    this._data = data;
  }

  error(message) {
    return this._beat({ error: message instanceof Error ? `${message.name}: ${message.message}` : String(message) });
  }

  stop() {
    return this._stopWith();
  }

  async _stopWith(extra) {
    clearInterval(this._timer);
    this._timer = null;
    live.delete(this);
    if (live.size === 0) uninstall();
    await this._inFlight.catch(() => {});
    if (extra) this._data = { ...(isObject(this._data) ? this._data : {}), ...extra };
    await this._beat({ stopped: true });
  }

  _tick() {
    // A beat still being written is not doubled.
    if (!this._pulsed || this._busy) return;
    this._pulsed = false;
    this._busy = true;
    this._inFlight = this._beat({}).then(
      () => {
        this._failing = false;
      },
      (err) => {
        // Once per failing streak: monitoring must not flood, nor take the program down.
        if (!this._failing) console.error(`hbmon: heartbeat ${this.name}: ${err.message}`);
        this._failing = true;
      },
    ).finally(() => {
      this._busy = false;
    });
  }

  _beat({ error, stopped }) {
    return beat(this.name, this._data, { interval: this.interval, kind: this._kind, error, stopped });
  }
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// --- jobs --------------------------------------------------------------------------------

/**
 * Runs `fn` (sync or async) as one run of the job `name`, with a run id of its own: a start,
 * then an end with exit code 0 (it resolved) or 1 (it threw; the message as the error) and
 * the duration, as `hbmon run` reports a command. Through a serve these are the /start and
 * /CODE pings with `?rid=`; through `hbmon beat`, `--start` and `--exit-code` with
 * `--run-id`: either way overlapping runs of one name are told apart.
 * Returns what `fn` returns; its rejection goes on untouched.
 */
async function job(name, fn, { interval } = {}) {
  checkName(name);
  checkInterval(interval);
  const runId = randomUUID();
  const started = process.hrtime.bigint();
  await send({ name, status: 'start', kind: 'job', interval, runId });
  let result;
  let failure;
  try {
    result = await fn();
  } catch (err) {
    failure = err;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const reason = failure === undefined ? 'returned' : failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
  try {
    await send({
      name,
      status: 'end',
      code: failure === undefined ? 0 : 1,
      kind: 'job',
      interval,
      runId,
      data: { reason, duration: Math.round(seconds * 1e6) / 1e6 },
      error: failure === undefined ? undefined : reason,
    });
  } catch (err) {
    // Never hide the run's own result or error.
    console.error(`hbmon: job ${name}: ${err.message}`);
  }
  if (failure !== undefined) throw failure;
  return result;
}

module.exports = { beat, Heartbeat, job, transport };
