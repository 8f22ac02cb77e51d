// Node socket.io 4.8: namespace /execution, `subscribe {id}` joins a room,
// a publication is `io.of("/execution").to(room).emit(type, envelope)`.
import http from "node:http";
import { Server } from "socket.io";
import { httpHandler, portFromArgs } from "./common.mjs";

let namespace = null;
const server = http.createServer(
  httpHandler((room, envelope) => namespace.to(room).emit(envelope.type, envelope)),
);
// socket.io takes over /socket.io/ and hands every other request to the
// listener registered above.
const sio = new Server(server, { serveClient: false, cors: { origin: "*" } });
namespace = sio.of("/execution");
namespace.on("connection", (socket) => {
  socket.on("subscribe", (data, ack) => {
    const room = String(data && data.id);
    socket.join(room);
    if (typeof ack === "function") ack({ ok: true, channel: `execution:${room}` });
  });
});
server.listen(portFromArgs(), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
