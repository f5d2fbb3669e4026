// uWebSockets.js peer for benches/e2e/compare.sh: /echo and /room/<name> (the
// sender included), binary stays binary, payloads untouched. One thread
// (uWS runs on Node's main thread).
//
// The native addon is required directly (never the package's entry point,
// which silently falls back to a JavaScript implementation when the addon
// does not load): a missing or incompatible addon is a hard error here.
//
//   node uws-server.js --port 9001
'use strict';
const path = require('path');

const pkgDir = path.join(__dirname, 'node_modules', '@trufflesuite', 'uws-js-unofficial');
const addon = path.join(pkgDir, 'binaries',
  `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
const uWS = require(addon); // throws if it cannot load: no fallback

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 9001;

// Defaults are 16 KiB per message and 64 KiB of backpressure, beyond which
// uWS skips (drops) sends silently; raise both well past what any run queues.
const common = {
  compression: uWS.DISABLED,
  maxPayloadLength: 1 << 20,
  maxBackpressure: 256 << 20,
  closeOnBackpressureLimit: false,
  idleTimeout: 0,
};

let dropped = 0;
const app = uWS.App();

app.ws('/echo', {
  ...common,
  message: (ws, message, isBinary) => {
    // send returns 0 (backpressure building, still queued), 1 (sent), 2 (dropped)
    if (ws.send(message, isBinary) === 2) dropped++;
  },
});

app.ws('/room/*', {
  ...common,
  upgrade: (res, req, context) => {
    res.upgrade(
      { room: req.getUrl().slice(6) },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => { ws.subscribe(ws.getUserData().room); },
  // app.publish reaches every subscriber, the sender included (ws.publish
  // would skip the sender).
  message: (ws, message, isBinary) => { app.publish(ws.getUserData().room, message, isBinary); },
});

app.any('/*', (res) => { res.writeStatus('404 Not Found').end(); });

app.listen('127.0.0.1', port, (token) => {
  if (!token) { console.error(`uws: cannot listen on ${port}`); process.exit(1); }
  console.error(`peer-uws (${path.basename(addon)}, node ${process.version}) listening on 127.0.0.1:${port}`);
});

process.on('SIGTERM', () => {
  if (dropped) console.error(`uws: ${dropped} echo sends dropped`);
  process.exit(0);
});
