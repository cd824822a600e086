#!/usr/bin/env node
// A BullMQ-style worker: a queue loop that takes jobs and runs each as an hbmon job run
// (a start, then an end with exit code and duration), with a Heartbeat for the worker.
//
//   node examples/bullmq-style.js [--jobs 3]
'use strict';

const { Heartbeat, job } = require('hbmon');

const count = Number(process.argv[process.argv.indexOf('--jobs') + 1]) || 3;
// A stand-in for a Redis-backed queue: the shape of BullMQ's processor, not its transport.
const queue = Array.from({ length: count }, (_, i) => ({ id: i + 1, rows: 100 * (i + 1) }));

async function processItem(item) {
  await new Promise((r) => setTimeout(r, 20));
  if (item.rows > 1000) throw new Error(`job ${item.id}: too many rows`);
  return item.rows;
}

(async () => {
  const worker = await new Heartbeat('queue-worker', { interval: 30 }).start();
  for (const item of queue) {
    const rows = await job('import-batch', () => processItem(item), { interval: 3600 });
    worker.setData({ last_job: item.id, rows });
    worker.pulse();
  }
  await worker.stop();
  console.log(`processed ${queue.length} jobs`);
})();
