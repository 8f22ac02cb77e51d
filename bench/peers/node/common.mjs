// What the Node peers share: the publish body they accept and the envelope.
// The envelope has the gateway's fields so every server sends frames of the
// same size, and the publish endpoint takes the gateway's body.

const offsets = new Map();

export function envelopeOf(body) {
  const channel = String(body.channel);
  const room = channel.includes(":") ? channel.slice(channel.indexOf(":") + 1) : channel;
  const offset = (offsets.get(room) || 0) + 1;
  offsets.set(room, offset);
  return {
    room,
    envelope: {
      type: body.type,
      channel,
      offset,
      epoch: "peer",
      timestamp: new Date().toISOString(),
      service: "peer",
      data: body.data,
    },
  };
}

export function portFromArgs() {
  const at = process.argv.indexOf("--port");
  const port = Number(at >= 0 ? process.argv[at + 1] : NaN);
  if (!Number.isInteger(port)) throw new Error("usage: --port N");
  return port;
}

// GET /health and POST /api/publish; `fanOut(room, envelope)` does the rest.
export function httpHandler(fanOut) {
  return (request, response) => {
    if (request.method === "GET" && request.url === "/health") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end('{"status":"healthy"}');
      return;
    }
    if (request.method !== "POST" || request.url !== "/api/publish") {
      response.writeHead(404);
      response.end();
      return;
    }
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      let answer;
      try {
        const { room, envelope } = envelopeOf(JSON.parse(Buffer.concat(chunks)));
        fanOut(room, envelope);
        answer = { results: [{ channel: envelope.channel, offset: envelope.offset }] };
      } catch (error) {
        response.writeHead(422, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: "invalid", detail: String(error) }));
        return;
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(answer));
    });
  };
}
