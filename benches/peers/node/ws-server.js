// Node `ws` peer for benches/e2e/compare.sh: /echo and /room/<name> (the
// sender included), binary stays binary, payloads untouched. Node runs the
// event loop on one thread.
//
//   node ws-server.js --port 9001
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 9001;

const rooms = new Map(); // name -> Set<WebSocket>
const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false });
const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });

server.on('upgrade', (req, socket, head) => {
  const path = req.url.split('?')[0];
  let room = null;
  if (path.startsWith('/room/') && path.length > 6) room = path.slice(6);
  else if (path !== '/echo') { socket.destroy(); return; }
  wss.handleUpgrade(req, socket, head, (ws) => {
    if (room === null) {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      return;
    }
    let members = rooms.get(room);
    if (!members) { members = new Set(); rooms.set(room, members); }
    members.add(ws);
    ws.on('message', (data, isBinary) => {
      for (const m of members) m.send(data, { binary: isBinary });
    });
    ws.on('close', () => {
      members.delete(ws);
      if (members.size === 0 && rooms.get(room) === members) rooms.delete(room);
    });
  });
});

server.listen(port, '127.0.0.1', () => {
  const ver = require('ws/package.json').version;
  console.error(`peer-ws (ws ${ver}, node ${process.version}) listening on 127.0.0.1:${port}`);
});
