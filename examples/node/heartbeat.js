#!/usr/bin/env node
// hbmon heartbeats from Node.js, with no npm dependencies.
//
// Node has no flock(2), which every writer of heartbeat_status.json must take (hbmon's
// DESIGN.md, "Rules every writer follows"), so this module does not write the file itself:
// it runs `hbmon beat NAME -q --pid <this process> --set key=value ...`, which does.
//
// As a module:
//
//   const { startHeartbeat } = require('./heartbeat');
//   let requests = 0;
//   const hb = startHeartbeat('web', { interval: 30, data: () => ({ requests }) });
//   ...
//   await hb.stop();   // a clean `stopped` beat: shown by hbmon, never alerted
//
// As an example program: an HTTP server (node:http) that counts requests and beats every
// interval with the count:
//
//   node heartbeat.js [--name web] [--port 8080] [--interval 30]
//   node heartbeat.js --once   # serve one request to itself, beat once, exit
//
// Environment: HBMON_BIN, the hbmon binary (default: `hbmon` on PATH); HBMON_FILE, the
// heartbeat file (default: hbmon's per-user file).

'use strict';

const { execFile } = require('node:child_process');
const http = require('node:http');

const HBMON = process.env.HBMON_BIN || 'hbmon';

/**
 * Writes one heartbeat for `name` through `hbmon beat`, with this process's PID.
 * Each key of `data` is set in additional_data (other keys are kept); values are sent as
 * JSON, so numbers stay numbers. Resolves when written; rejects with hbmon's error line.
 */
function beat(name, data = {}, { interval, error, stopped } = {}) {
  const args = ['beat', name, '-q', '--pid', String(process.pid)];
  if (interval) args.push('--interval', `${interval}s`);
  for (const [key, value] of Object.entries(data)) {
    if (value !== undefined) args.push('--set', `${key}=${JSON.stringify(value)}`);
  }
  if (error) args.push('--error', String(error));
  if (stopped) args.push('--stopped');
  return new Promise((resolve, reject) => {
    execFile(HBMON, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(stderr.trim() || `${HBMON}: ${err.message}`));
      else resolve();
    });
  });
}

/**
 * Beats now and then every `interval` seconds with `data()`, until `stop()`. A beat still
 * running when the next is due is not doubled; a failure is logged once per failing
 * streak, and the program carries on: monitoring must not take the server down.
 */
function startHeartbeat(name, { interval = 30, data = () => ({}) } = {}) {
  let busy = false;
  let failing = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await beat(name, data(), { interval });
      failing = false;
    } catch (err) {
      if (!failing) console.error(`heartbeat ${name}: ${err.message}`);
      failing = true;
    } finally {
      busy = false;
    }
  };
  const first = tick();
  // unref: the heartbeat alone does not keep the process running.
  const timer = setInterval(tick, interval * 1000).unref();
  return {
    /** The first beat, for callers that want to wait for it. */
    started: first,
    /** Stops beating and writes a clean `stopped` beat. */
    async stop() {
      clearInterval(timer);
      await first;
      await beat(name, data(), { interval, stopped: true });
    },
  };
}

function option(args, flag, fallback) {
  const at = args.indexOf(flag);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
}

function main(args) {
  const name = option(args, '--name', 'node-web');
  const interval = Number(option(args, '--interval', '30'));
  const once = args.includes('--once');
  const port = Number(option(args, '--port', once ? '0' : '8080'));
  let requests = 0;

  const server = http.createServer((_req, res) => {
    requests += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, requests }));
  });
  server.listen(port, '127.0.0.1', () => {
    const { port: listening } = server.address();
    const data = () => ({ requests, port: listening });
    if (once) {
      http.get(`http://127.0.0.1:${listening}/`, (res) => {
        res.resume();
        res.on('end', () => {
          server.close();
          beat(name, data(), { interval }).then(
            () => console.log(`beat ${name} (pid ${process.pid}, requests: ${requests})`),
            (err) => {
              console.error(`heartbeat ${name}: ${err.message}`);
              process.exitCode = 1;
            },
          );
        });
      });
      return;
    }
    console.log(`listening on http://127.0.0.1:${listening}/, beating as ${name} every ${interval}s`);
    const hb = startHeartbeat(name, { interval, data });
    for (const signal of ['SIGINT', 'SIGTERM']) {
      process.once(signal, () => {
        server.close();
        hb.stop().catch((err) => console.error(`heartbeat ${name}: ${err.message}`));
      });
    }
  });
}

module.exports = { beat, startHeartbeat };

if (require.main === module) main(process.argv.slice(2));
