// node_server: node's http.createServer for reqprof's end-to-end tests, run
// by the machine's node under reqprof.
//
// Node serves every socket from one libuv event-loop thread (epoll), reads
// with read, writes with writev and write, and closes sockets with a raw
// syscall(SYS_close) that no interposed close() sees.
// JavaScript compiled by V8 has no symbols: a profile shows libuv, node and
// V8 frames around addresses.
//
// Routes (parameters show their defaults):
//
//   GET  /               ok, no work
//   GET  /burn?ms=100    burnJavaScriptCpu burns ms of CPU
//   POST /echo           reads the whole body; answers "received N bytes"
//   anything else        404 (GET) or 405
//
// Every answer has a Content-Length, so keep-alive and pipelined requests
// are served in order on one connection. Listens on 127.0.0.1 only, prints
// "listening on PORT", and exits with status 0 on SIGTERM or SIGINT.
//
// Usage: node node_server.js [--port N]
'use strict';

const http = require('http');

// Burns ms of CPU in JavaScript (the event loop does nothing else meanwhile,
// so wall time is CPU time).
function burnJavaScriptCpu(ms) {
  const deadline = process.hrtime.bigint() + BigInt(ms) * 1000000n;
  let x = 1;
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 20000; i++) x = (x * 31 + i) % 1000003;
  }
  return x;
}

function answer(response, status, body) {
  response.writeHead(status, {
    'Content-Type': 'text/plain',
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url, 'http://localhost');
  if (request.method === 'POST') {
    let received = 0;
    request.on('data', (chunk) => { received += chunk.length; });
    request.on('end', () => {
      if (url.pathname === '/echo') answer(response, 200, `received ${received} bytes\n`);
      else answer(response, 405, 'Method Not Allowed\n');
    });
    return;
  }
  if (url.pathname === '/') {
    answer(response, 200, 'ok\n');
  } else if (url.pathname === '/burn') {
    const ms = Number(url.searchParams.get('ms') || '100');
    burnJavaScriptCpu(ms);
    answer(response, 200, `burned ${ms} ms in burnJavaScriptCpu\n`);
  } else {
    answer(response, 404, 'Not Found\n');
  }
});

let port = 0;
if (process.argv.length === 4 && process.argv[2] === '--port') {
  port = Number(process.argv[3]);
} else if (process.argv.length !== 2) {
  console.error('usage: node node_server.js [--port N]');
  process.exit(2);
}
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on ${server.address().port}\n`);
});
