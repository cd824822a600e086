#!/usr/bin/env node
// An Express-style HTTP server (node:http, no framework needed) that counts requests and
// beats with the count; SIGTERM (systemctl stop, docker stop) ends it `stopped`.
//
//   node examples/express-style.js [--name web] [--port 8080] [--interval 30]
//   node examples/express-style.js --once   # serve one request to itself, beat, exit
'use strict';

const http = require('node:http');
const { Heartbeat } = require('hbmon');

function option(args, flag, fallback) {
  const at = args.indexOf(flag);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
}

const args = process.argv.slice(2);
const name = option(args, '--name', 'node-web');
const interval = Number(option(args, '--interval', '30'));
const once = args.includes('--once');
let requests = 0;
const hb = new Heartbeat(name, { interval });

const server = http.createServer((_req, res) => {
  requests += 1;
  hb.setData({ requests, port: server.address().port });
  hb.pulse(); // each request is progress; a server that stops answering stops beating
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, requests }));
});

server.listen(Number(option(args, '--port', once ? '0' : '8080')), '127.0.0.1', async () => {
  const { port } = server.address();
  hb.setData({ requests, port });
  await hb.start();
  console.log(`listening on http://127.0.0.1:${port}/, beating as ${name}`);
  if (!once) return;
  await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
  server.close();
  await hb.stop();
  console.log(`beat ${name} (pid ${process.pid}, requests: ${requests})`);
});
