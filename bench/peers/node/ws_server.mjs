// Node ws 8: /ws/execution/{id} joins a room (a Set), a publication is one
// JSON.stringify and `socket.send(text)` to each member.
import http from "node:http";
import { WebSocketServer } from "ws";
import { httpHandler, portFromArgs } from "./common.mjs";

const rooms = new Map();
const server = http.createServer(
  httpHandler((room, envelope) => {
    const text = JSON.stringify(envelope);
    for (const socket of rooms.get(room) || []) socket.send(text);
  }),
);
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on("upgrade", (request, socket, head) => {
  const match = /^\/ws\/execution\/([A-Za-z0-9_-]{1,64})$/.exec(request.url || "");
  if (!match) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(request, socket, head, (ws) => {
    const room = match[1];
    if (!rooms.has(room)) rooms.set(room, new Set());
    rooms.get(room).add(ws);
    ws.on("close", () => rooms.get(room).delete(ws));
    ws.on("error", () => ws.terminate());
    ws.send(JSON.stringify({ type: "connection", channel: room }));
  });
});
server.listen(portFromArgs(), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
