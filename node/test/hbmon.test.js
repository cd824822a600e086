// Tests of the hbmon package: which transport a beat takes and what it sends, the Heartbeat's
// pacing and clean SIGTERM stop, and job runs with their own run id.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const INDEX = path.join(__dirname, '..', 'index.js');

/** A stand-in for `hbmon serve`'s /ping API that records each request (and can refuse). */
async function fakeServe(t, answer = () => [200, 'OK']) {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      seen.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body });
      const [code, text] = answer(url);
      res.writeHead(code).end(text);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${server.address().port}`, seen };
}

/** A stand-in for the hbmon binary that appends its argv, one JSON line a call, to a file. */
function fakeHbmon(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbmon-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'calls');
  const bin = path.join(dir, 'hbmon');
  fs.writeFileSync(bin, `#!/usr/bin/env node\nrequire('fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n`, { mode: 0o755 });
  const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
  return { bin, calls };
}

function withEnv(t, env) {
  const saved = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

const hbmon = require(INDEX);

test('without HBMON_URL a beat runs hbmon beat with this PID and the data as JSON', async (t) => {
  const fake = fakeHbmon(t);
  withEnv(t, { HBMON_URL: undefined, HBMON_BIN: fake.bin });
  assert.deepEqual(hbmon.transport(), { kind: 'cli', bin: fake.bin });
  await hbmon.beat('web', { requests: 3 }, { interval: 30 });
  await hbmon.beat('web', undefined, { error: 'upstream 503' });
  assert.deepEqual(fake.calls(), [
    ['beat', 'web', '-q', '--pid', String(process.pid), '--interval', '30s', '--data', '{"requests":3}'],
    ['beat', 'web', '-q', '--pid', String(process.pid), '--error', 'upstream 503'],
  ]);
});

test('a failing hbmon beat rejects with its error line', async (t) => {
  withEnv(t, { HBMON_URL: undefined, HBMON_BIN: '/nonexistent/hbmon' });
  await assert.rejects(hbmon.beat('web'), /nonexistent\/hbmon/);
});

test('with HBMON_URL a beat is a POST to serve\'s /ping with the data as the body', async (t) => {
  const serve = await fakeServe(t);
  withEnv(t, { HBMON_URL: `${serve.url}/` });
  await hbmon.beat('web', { requests: 3 }, { interval: 30, kind: 'app' });
  await hbmon.beat('web', undefined, { error: 'disk full' });
  await hbmon.beat('web', undefined, { stopped: true });
  assert.deepEqual(serve.seen, [
    { method: 'POST', path: '/ping/web', query: { interval: '30s', kind: 'app' }, body: '{"requests":3}' },
    { method: 'POST', path: '/ping/web', query: { status: 'error', msg: 'disk full' }, body: '' },
    { method: 'POST', path: '/ping/web', query: { status: 'stopped' }, body: '' },
  ]);
});

test('a ping serve refuses rejects with its status and answer', async (t) => {
  const serve = await fakeServe(t, () => [400, 'invalid interval "soon"\n']);
  withEnv(t, { HBMON_URL: serve.url });
  await assert.rejects(hbmon.beat('web'), /400: invalid interval "soon"$/);
});

test('HBMON_DEBUG=1 says which way each beat goes', async (t) => {
  const serve = await fakeServe(t);
  const fake = fakeHbmon(t);
  const run = (env) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(INDEX)}).beat('web')`], {
        env: { ...process.env, HBMON_DEBUG: '1', HBMON_BIN: fake.bin, ...env },
      });
      let err = '';
      child.stderr.on('data', (c) => (err += c));
      child.on('close', () => resolve(err));
    });
  assert.match(await run({ HBMON_URL: serve.url }), /^hbmon: beat web through hbmon serve: POST http:\/\/127\.0\.0\.1:\d+\/ping\/web\n$/);
  assert.match(await run({ HBMON_URL: '' }), /^hbmon: beat web through \S+\/hbmon beat web -q --pid \d+\n$/);
});

test('a Heartbeat beats at start, at most every interval/4 when pulsed, and stops cleanly', async (t) => {
  const serve = await fakeServe(t);
  withEnv(t, { HBMON_URL: serve.url });
  const hb = await new hbmon.Heartbeat('worker', { interval: 0.4, handleSignals: false }).start();
  const started = Date.now();
  while (Date.now() - started < 500) {
    hb.pulse();
    await new Promise((r) => setImmediate(r));
  }
  hb.setData({ done: 1 });
  await hb.stop();
  const beats = serve.seen.filter((r) => r.path === '/ping/worker');
  const alive = beats.filter((r) => !r.query.status);
  // The first beat and one per 0.1 s period at most, never one per pulse.
  assert.ok(alive.length >= 3 && alive.length <= 1 + 6, `${alive.length} alive beats`);
  assert.deepEqual(beats.at(-1), { method: 'POST', path: '/ping/worker', query: { interval: '0.4s', status: 'stopped' }, body: '{"done":1}' });
});

test('a Heartbeat that is not pulsed does not beat again: a hung process goes quiet', async (t) => {
  const serve = await fakeServe(t);
  withEnv(t, { HBMON_URL: serve.url });
  const hb = await new hbmon.Heartbeat('worker', { interval: 0.1, handleSignals: false }).start();
  await new Promise((r) => setTimeout(r, 200));
  await hb.stop();
  assert.deepEqual(serve.seen.map((r) => r.query.status ?? 'alive'), ['alive', 'stopped']);
});

function child(t, script, env) {
  const c = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => c.exitCode === null && c.kill('SIGKILL'));
  const ready = new Promise((resolve) => c.stdout.once('data', resolve));
  const ended = new Promise((resolve) => c.on('exit', (code, signal) => resolve({ code, signal })));
  return { c, ready, ended };
}

test('SIGTERM stops a running Heartbeat cleanly, then ends the process by SIGTERM', async (t) => {
  const serve = await fakeServe(t);
  const script = `const { Heartbeat } = require(${JSON.stringify(INDEX)});
    new Heartbeat('web', { interval: 30 }).start().then(() => { console.log('up'); setInterval(() => {}, 1000); });`;
  const { c, ready, ended } = child(t, script, { HBMON_URL: serve.url });
  await ready;
  c.kill('SIGTERM');
  assert.deepEqual(await ended, { code: null, signal: 'SIGTERM' });
  const last = serve.seen.at(-1);
  assert.equal(last.query.status, 'stopped');
  assert.deepEqual(JSON.parse(last.body), { reason: 'stopped by SIGTERM' });
});

test("a program's own SIGTERM listener is left alone", async (t) => {
  const serve = await fakeServe(t);
  const script = `const { Heartbeat } = require(${JSON.stringify(INDEX)});
    process.on('SIGTERM', () => { console.error('mine'); process.exit(7); });
    new Heartbeat('web', { interval: 30 }).start().then(() => { console.log('up'); setInterval(() => {}, 1000); });`;
  const { c, ready, ended } = child(t, script, { HBMON_URL: serve.url });
  await ready;
  c.kill('SIGTERM');
  assert.deepEqual(await ended, { code: 7, signal: null });
  assert.deepEqual(serve.seen.map((r) => r.query.status ?? 'alive'), ['alive']);
});

test('a job is one run: /start then /0, or /1 naming the error, which goes on', async (t) => {
  const serve = await fakeServe(t);
  withEnv(t, { HBMON_URL: serve.url });
  assert.equal(await hbmon.job('etl', async () => 42, { interval: 3600 }), 42);
  const boom = new Error('bad row 7');
  await assert.rejects(hbmon.job('etl', () => { throw boom; }), (e) => e === boom);
  const [start, end, start2, end2] = serve.seen;
  assert.deepEqual([start.path, start.query], ['/ping/etl/start', { interval: '3600s', kind: 'job', rid: start.query.rid }]);
  assert.deepEqual([end.path, JSON.parse(end.body).reason, end.query.rid], ['/ping/etl/0', 'returned', start.query.rid]);
  assert.equal(start2.path, '/ping/etl/start');
  assert.deepEqual([end2.path, end2.query.msg, end2.query.rid], ['/ping/etl/1', 'Error: bad row 7', start2.query.rid]);
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Two runs of `name` at once: the first ends (throwing) after the second started and ended. */
async function overlappingRuns(name) {
  let second;
  const first = hbmon.job(name, async () => {
    second = hbmon.job(name, async () => 2);
    await second;
    throw new Error('upstream 503');
  });
  await assert.rejects(first, /upstream 503/);
  assert.equal(await second, 2);
}

test('overlapping runs of one job each send their own run id to serve, start and end alike', async (t) => {
  const serve = await fakeServe(t);
  withEnv(t, { HBMON_URL: serve.url });
  await overlappingRuns('sync');
  const rid = (path) => serve.seen.filter((r) => r.path === path).map((r) => r.query.rid);
  const starts = rid('/ping/sync/start');
  assert.equal(starts.length, 2);
  assert.ok(starts.every((id) => UUID.test(id)) && starts[0] !== starts[1], `${starts}`);
  assert.deepEqual([rid('/ping/sync/1'), rid('/ping/sync/0')], [[starts[0]], [starts[1]]], 'each end names its own start');
});

test('through hbmon beat a job is --start then --exit-code, both with the run id', async (t) => {
  const fake = fakeHbmon(t);
  withEnv(t, { HBMON_URL: undefined, HBMON_BIN: fake.bin });
  await overlappingRuns('sync');
  const calls = fake.calls();
  const runOf = (call) => call[call.indexOf('--run-id') + 1];
  const starts = calls.filter((c) => c.includes('--start')).map(runOf);
  assert.equal(starts.length, 2);
  assert.ok(starts.every((id) => UUID.test(id)) && starts[0] !== starts[1], `${starts}`);
  const ends = calls.filter((c) => c.includes('--exit-code'));
  assert.deepEqual(
    ends.map((c) => [c[c.indexOf('--exit-code') + 1], runOf(c)]),
    [['0', starts[1]], ['1', starts[0]]],
  );
  assert.deepEqual(ends[1].slice(ends[1].indexOf('--error'), ends[1].indexOf('--error') + 2), ['--error', 'Error: upstream 503']);
});

test('the real hbmon beat keeps two overlapping runs of a Node job apart', async (t) => {
  const bin = process.env.HBMON_TEST_BIN || path.join(__dirname, '..', '..', 'target', 'debug', 'hbmon');
  if (!fs.existsSync(bin)) return t.skip(`no hbmon binary at ${bin} (cargo build makes it)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbmon-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'hb.json');
  withEnv(t, { HBMON_URL: undefined, HBMON_BIN: bin, HBMON_FILE: file });
  let during;
  await assert.rejects(
    hbmon.job('sync', async () => {
      await hbmon.job('sync', async () => {
        during = JSON.parse(fs.readFileSync(file, 'utf8')).processes.sync;
      });
      throw new Error('upstream 503');
    }),
    /upstream 503/,
  );
  assert.equal(Object.keys(during.runs).length, 2, JSON.stringify(during));
  const entry = JSON.parse(fs.readFileSync(file, 'utf8')).processes.sync;
  assert.deepEqual([entry.status, entry.exit_code, entry.last_error, entry.runs], ['failed', 1, 'Error: upstream 503', undefined]);
  assert.equal(entry.started_at, Math.min(...Object.values(during.runs).map((r) => r.started_at)), 'the first run ended as its own');
});

test('the ES module and CommonJS faces are one implementation', async () => {
  const esm = await import(path.join(__dirname, '..', 'index.mjs'));
  assert.equal(esm.beat, hbmon.beat);
  assert.equal(esm.default, hbmon);
});
