// The benchmark's load generator: subscribers, a publisher and the clock.
//
// It is driven by the Python orchestrator (bench/) over stdin/stdout, one JSON
// object per line each way, so the orchestrator can read the server's /proc
// counters exactly between phases. Publisher and subscribers live in this one
// process on purpose: the publish timestamp embedded in each message and the
// receive time come from the same clock, so latency needs no clock sync.
//
// Each command carries an `id` that its answer repeats: one line
// {"ok": true, "id", ...} or {"ok": false, "error"}. The commands:
//   target    {protocol: "socketio"|"ws", url, publishUrl, namespace, wsPath,
//              channelId, pid, clockTicks, serverCore, urls?, publishUrls?}
//              urls/publishUrls: several processes of one server; new clients
//              are spread round-robin over urls, publications over publishUrls
//   connect   {count, concurrency, library} add subscribed clients, timed (library:
//                                           socket.io-client instead of the lean one)
//   probe     {count}                       connect-and-subscribe latency, one at a time
//   pause     {count}                       stop reading on the newest `count` clients
//   resume    {published}                   read again; who was cut, who got all
//   rate      {rate, seconds, pad, drain}   open-loop publishing at `rate` msg/s
//   saturate  {window, seconds, pad, drain} closed-loop: at most `window` messages
//                                           not yet delivered to every subscriber
//   closeAll  {}                            close every client
//   exit      {}

import { readFileSync } from "node:fs";
import http from "node:http";
import { performance } from "node:perf_hooks";
import readline from "node:readline";
import { io } from "socket.io-client";
import WebSocket from "ws";

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A growable Float64Array: a phase can record hundreds of thousands of
// latencies and a plain array of doubles would box every one of them.
class Samples {
  constructor() {
    this.data = new Float64Array(1 << 16);
    this.length = 0;
  }
  push(value) {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  summary() {
    const sorted = this.data.slice(0, this.length).sort();
    const at = (q) =>
      sorted.length === 0
        ? null
        : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    let total = 0;
    for (const v of sorted) total += v;
    return {
      count: sorted.length,
      mean: sorted.length ? total / sorted.length : null,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: sorted.length ? sorted[sorted.length - 1] : null,
    };
  }
}

// What the current phase has seen. Messages carry their phase number, so a
// straggler from an earlier phase is counted as late, never as a delivery.
const phase = {
  id: 0,
  deliveries: 0,
  inWindow: 0,
  windowEnd: Infinity,
  late: 0,
  duplicates: 0,
  reordered: 0,
  latencies: new Samples(),
  publishTimes: new Samples(),
  perSeq: [],
  target: 0,
  onComplete: null,
  lastDelivery: 0,
};

let target = null;

// Busy seconds of the server's core, whoever used them: minus the server's
// own CPU, what other processes took from it during a window.
function coreBusy() {
  if (!target || target.serverCore === undefined) return null;
  try {
    const stat = readFileSync("/proc/stat", "latin1");
    const line = stat.split("\n").find((l) => l.startsWith(`cpu${target.serverCore} `));
    if (!line) return null;
    // user nice system idle iowait irq softirq steal; interrupt time is left
    // out, since the loopback traffic of the benchmark itself causes it.
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return (f[0] + f[1] + f[2] + f[7]) / target.clockTicks;
  } catch {
    return null;
  }
}

// The server's user + system CPU seconds, read at the very moment a window
// opens and closes (the orchestrator could only read it around a command).
function serverCpu() {
  if (!target || !target.pid) return null;
  try {
    const stat = readFileSync(`/proc/${target.pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / target.clockTicks;
  } catch {
    return null;
  }
}
const clients = [];
let nextClient = 0;

class Subscriber {
  constructor() {
    this.index = nextClient++;
    this.seen = new Uint8Array(64);
    this.lastSeq = -1;
    this.received = 0;
    this.paused = false;
    this.closed = false;
    this.closeCode = null;
    this.close = () => {};
    this.pauseReading = () => {};
    this.resumeReading = () => {};
  }

  // One published message reached this subscriber.
  deliver(messagePhase, seq, sentAt) {
    const received = now();
    if (messagePhase !== phase.id) {
      phase.late++;
      return;
    }
    // Publications travel on several HTTP connections at once, so a server
    // may fan them out in another order than their seq: that is no loss and
    // no duplicate. Only a seq seen twice is a duplicate.
    if (seq >= this.seen.length) {
      const bigger = new Uint8Array(Math.max(seq + 1, this.seen.length * 2));
      bigger.set(this.seen);
      this.seen = bigger;
    }
    if (this.seen[seq]) {
      phase.duplicates++;
      return;
    }
    this.seen[seq] = 1;
    if (seq < this.lastSeq) phase.reordered++;
    else this.lastSeq = seq;
    this.received++;
    phase.lastDelivery = received;
    if (this.paused) return; // an overloaded reader: not part of the fan-out figures
    phase.deliveries++;
    if (received <= phase.windowEnd) phase.inWindow++;
    phase.latencies.push(received - sentAt);
    const count = (phase.perSeq[seq] = (phase.perSeq[seq] || 0) + 1);
    if (count === phase.target && phase.onComplete) phase.onComplete();
  }
}

// -- reading a delivery -----------------------------------------------------
//
// Phase, seq and publish time are found in the frame by byte search: a full
// JSON.parse (and socket.io-client's packet decoding and event dispatch) per
// delivery costs this one core about as much as the fastest servers spend
// producing the delivery, and the load generator, not the server, would be
// what saturation measures.

const DATA_KEY = Buffer.from('"data":');
const PHASE_KEY = Buffer.from('"phase":');
const SEQ_KEY = Buffer.from('"seq":');
const T_KEY = Buffer.from('"t":');

function integerAt(buf, at) {
  let value = 0;
  for (let i = at; i < buf.length; i++) {
    const c = buf[i];
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  return value;
}

function numberAt(buf, at) {
  let end = at;
  while (end < buf.length) {
    const c = buf[end];
    // digits, '.', '-', '+', 'e', 'E'
    if ((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 43 || c === 101 || c === 69) {
      end++;
    } else break;
  }
  return Number(buf.toString("latin1", at, end));
}

// True when `buf` (a JSON envelope, or a Socket.IO EVENT packet around one)
// carried a published message, which then counts as delivered to `sub`.
function deliverFrame(sub, buf) {
  const data = buf.indexOf(DATA_KEY);
  if (data < 0) return false;
  const p = buf.indexOf(PHASE_KEY, data);
  const s = buf.indexOf(SEQ_KEY, data);
  const t = buf.indexOf(T_KEY, data);
  if (p < 0 || s < 0 || t < 0) return false;
  sub.deliver(
    integerAt(buf, p + PHASE_KEY.length),
    integerAt(buf, s + SEQ_KEY.length),
    numberAt(buf, t + T_KEY.length),
  );
  return true;
}

// -- clients ----------------------------------------------------------------

// socket.io-client itself: what the platform's frontend runs. Used for the
// connect-and-subscribe probe, where its cost is part of what a user waits.
function connectSocketIOLibrary(sub) {
  return new Promise((resolve, reject) => {
    const socket = io(target.url + target.namespace, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      timeout: 60000,
    });
    let ready = false;
    const fail = (error) => {
      if (ready) return;
      ready = true;
      socket.close();
      reject(error);
    };
    socket.on("execution_update", (envelope) => {
      const data = envelope.data;
      sub.deliver(data.phase, data.seq, data.t);
    });
    socket.on("connect_error", (error) => fail(error));
    socket.on("disconnect", (reason) => {
      sub.closed = true;
      sub.closeCode = reason;
      fail(new Error(`disconnected: ${reason}`));
    });
    socket.on("connect", () => {
      socket.timeout(60000).emit("subscribe", { id: target.channelId }, (error, ack) => {
        if (error) return fail(error);
        if (!ack || ack.ok !== true) return fail(new Error(`nack ${JSON.stringify(ack)}`));
        ready = true;
        resolve();
      });
    });
    sub.close = () => socket.close();
    // engine.io-client's websocket transport is a `ws` WebSocket underneath.
    sub.pauseReading = () => socket.io.engine.transport.ws.pause();
    sub.resumeReading = () => socket.io.engine.transport.ws.resume();
  });
}

// The same conversation as socket.io-client over its websocket transport
// (engine.io v4, Socket.IO v5): open, connect to the namespace, emit
// `subscribe {id}` with an ack id, wait for the ack, answer pings. Only the
// reading of deliveries differs: see deliverFrame.
function connectSocketIOLean(sub) {
  return new Promise((resolve, reject) => {
    const nsp = target.namespace;
    const socket = new WebSocket(`${nextWsUrl()}/socket.io/?EIO=4&transport=websocket`, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    let ready = false;
    const fail = (error) => {
      if (ready) return;
      ready = true;
      socket.terminate();
      reject(error);
    };
    const connected = `40${nsp},`;
    const acked = `43${nsp},0`;
    const refused = `44${nsp},`;
    socket.on("message", (buf) => {
      const kind = buf[0];
      if (kind === 52 /* 4: message */) {
        if (buf[1] === 50 /* 2: EVENT */) {
          deliverFrame(sub, buf);
          return;
        }
        const text = buf.toString();
        if (text.startsWith(connected)) {
          socket.send(`42${nsp},0${JSON.stringify(["subscribe", { id: target.channelId }])}`);
        } else if (text.startsWith(acked)) {
          const [ack] = JSON.parse(text.slice(acked.length));
          if (ack && ack.ok === true) {
            ready = true;
            resolve();
          } else fail(new Error(`nack ${JSON.stringify(ack)}`));
        } else if (text.startsWith(refused)) {
          fail(new Error(`connect_error ${text}`));
        }
      } else if (kind === 50 /* 2: ping */) {
        socket.send("3");
      } else if (kind === 48 /* 0: open */) {
        socket.send(`40${nsp},`);
      } else if (kind === 49 /* 1: close */) {
        socket.close();
      }
    });
    socket.on("error", (error) => fail(error));
    socket.on("close", (code) => {
      sub.closed = true;
      sub.closeCode = code;
      fail(new Error(`closed ${code}`));
    });
    sub.close = () => socket.terminate();
    sub.pauseReading = () => socket.pause();
    sub.resumeReading = () => socket.resume();
  });
}

function connectWs(sub) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(nextWsUrl() + target.wsPath + target.channelId, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    let ready = false;
    socket.on("message", (buf) => {
      if (deliverFrame(sub, buf) || ready) return;
      // Both our gateway and the peers say `connection` once the socket is
      // in the channel's room: from then on nothing published is missed.
      if (JSON.parse(buf).type === "connection") {
        ready = true;
        resolve();
      }
    });
    socket.on("error", (error) => {
      if (!ready) {
        ready = true;
        reject(error);
      }
    });
    socket.on("close", (code) => {
      sub.closed = true;
      sub.closeCode = code;
      if (!ready) {
        ready = true;
        reject(new Error(`closed ${code}`));
      }
    });
    sub.close = () => socket.terminate();
    sub.pauseReading = () => socket.pause();
    sub.resumeReading = () => socket.resume();
  });
}

async function openClient(library = false) {
  const sub = new Subscriber();
  let connect = connectWs;
  if (target.protocol === "socketio") {
    connect = library ? connectSocketIOLibrary : connectSocketIOLean;
  }
  await connect(sub);
  return sub;
}

// -- publishing ---------------------------------------------------------------

let agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
let padCache = ["", ""];

// Round-robin over the target's processes (one process: always the same URL).
// Reset by each `target`, so every setup's clients start at its first process
// and an even count spreads evenly.
let wsTurn = 0;
let publishTurn = 0;

function nextWsUrl() {
  return target.wsUrls[wsTurn++ % target.wsUrls.length];
}

function publish(seq, pad) {
  if (padCache[0].length !== pad) padCache = ["x".repeat(pad), ""];
  const publishUrl = target.publishUrls[publishTurn++ % target.publishUrls.length];
  const sentAt = now();
  const body = JSON.stringify({
    channel: `execution:${target.channelId}`,
    type: "execution_update",
    data: { phase: phase.id, seq, t: now(), pad: padCache[0] },
  });
  return new Promise((resolve) => {
    const request = http.request(
      publishUrl,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
      },
      (response) => {
        response.resume();
        response.on("end", () => {
          phase.publishTimes.push(now() - sentAt);
          resolve(response.statusCode);
        });
      },
    );
    // A server that never answers (one blocked on a client that stopped
    // reading) must not hold the publisher forever.
    request.setTimeout(10000, () => request.destroy(new Error("publish timed out")));
    request.on("error", () => resolve(0));
    request.end(body);
  });
}

function live() {
  return clients.filter((c) => !c.closed && !c.paused);
}

function beginPhase() {
  phase.id++;
  phase.deliveries = 0;
  phase.inWindow = 0;
  phase.windowEnd = Infinity;
  phase.late = 0;
  phase.duplicates = 0;
  phase.reordered = 0;
  phase.latencies = new Samples();
  phase.publishTimes = new Samples();
  phase.perSeq = [];
  phase.onComplete = null;
  phase.lastDelivery = now();
  for (const c of clients) {
    c.seen = new Uint8Array(64);
    c.lastSeq = -1;
    c.received = 0;
  }
  const readers = live();
  phase.target = readers.length;
  return { readers, cpu: process.cpuUsage(), started: now() };
}

// Wait until every reader has every message, or nothing has arrived for
// `idle` seconds: what is missing by then is counted as lost.
async function drain(expected, idle, cap = 60) {
  const started = now();
  while (phase.deliveries < expected) {
    if (now() - phase.lastDelivery > idle * 1000) break;
    if (now() - started > cap * 1000) break;
    await sleep(5);
  }
}

function finishPhase(begun, published, failed, extra) {
  const wall = (now() - begun.started) / 1000;
  const cpu = process.cpuUsage(begun.cpu);
  const expected = published * begun.readers.length;
  const closed = begun.readers.filter((c) => c.closed);
  const closeCodes = {};
  for (const c of closed) closeCodes[c.closeCode] = (closeCodes[c.closeCode] || 0) + 1;
  return {
    subscribers: begun.readers.length,
    published,
    publish_failed: failed,
    expected,
    delivered: phase.deliveries,
    lost: Math.max(0, expected - phase.deliveries),
    duplicates: phase.duplicates,
    reordered: phase.reordered,
    late: phase.late,
    disconnected: closed.length,
    close_codes: closeCodes,
    wall_seconds: wall,
    loadgen_cpu: (cpu.user + cpu.system) / 1e6 / wall,
    latency_ms: phase.latencies.summary(),
    // How long the publisher waited for each POST's answer.
    publish_ms: phase.publishTimes.summary(),
    ...extra,
  };
}

async function rate({ rate, seconds, pad = 64, drain: idle = 3, maxInflight = 64 }) {
  const begun = beginPhase();
  const total = Math.max(1, Math.round(rate * seconds));
  const start = now();
  // Past this, whatever is left unsent stays unsent: the phase ends on time.
  const deadline = start + seconds * 1000 + 10000;
  let published = 0;
  let failed = 0;
  let inflight = 0;
  let behind = 0;
  let unsent = 0;
  const pending = [];
  for (let seq = 0; seq < total; seq++) {
    const due = start + (seq * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    else if (wait < -50) behind++;
    // An open loop, but not an unbounded one: a server that stops answering
    // must not make this process pile up thousands of requests.
    while (inflight >= maxInflight && now() < deadline) await sleep(1);
    if (now() >= deadline) {
      unsent = total - seq;
      break;
    }
    inflight++;
    pending.push(
      publish(seq, pad).then((status) => {
        inflight--;
        if (status === 200) published++;
        else failed++;
      }),
    );
  }
  await Promise.all(pending);
  const publishSeconds = (now() - start) / 1000;
  await drain(published * begun.readers.length, idle);
  const paused = clients.filter((c) => c.paused);
  return finishPhase(begun, published, failed, {
    rate,
    publish_seconds: publishSeconds,
    publisher_behind: behind,
    unsent,
    paused: paused.length,
  });
}

async function saturate({ window, seconds, pad = 64, drain: idle = 3, stall = 5 }) {
  const begun = beginPhase();
  const readers = begun.readers.length;
  let published = 0;
  let failed = 0;
  let sent = 0;
  let outstanding = 0;
  let running = true;
  const pending = [];
  const start = now();
  const cpuAtStart = serverCpu();
  const coreAtStart = coreBusy();
  phase.windowEnd = start + seconds * 1000;
  const pump = () => {
    while (running && outstanding < window) {
      outstanding++;
      const seq = sent++;
      pending.push(
        publish(seq, pad).then((status) => {
          if (status === 200) published++;
          else {
            failed++;
            outstanding--;
            pump();
          }
        }),
      );
    }
  };
  phase.onComplete = () => {
    outstanding--;
    pump();
  };
  pump();
  let stalled = false;
  while (now() < phase.windowEnd) {
    await sleep(20);
    if (now() - phase.lastDelivery > stall * 1000) {
      stalled = true;
      break;
    }
  }
  running = false;
  const inWindow = phase.inWindow;
  const windowWall = (now() - start) / 1000;
  const cpuAtEnd = serverCpu();
  const coreAtEnd = coreBusy();
  const ownCpu = process.cpuUsage(begun.cpu);
  await Promise.all(pending);
  await drain(published * readers, idle);
  return finishPhase(begun, published, failed, {
    window,
    window_seconds: seconds,
    deliveries_in_window: inWindow,
    deliveries_per_second: inWindow / seconds,
    messages_per_second: inWindow / seconds / Math.max(1, readers),
    stalled,
    // Both processes' CPU over the window alone, as a fraction of one core:
    // whichever is near 1.0 is what limited the throughput.
    window_server_cpu:
      cpuAtStart === null || cpuAtEnd === null ? null : (cpuAtEnd - cpuAtStart) / windowWall,
    window_loadgen_cpu: (ownCpu.user + ownCpu.system) / 1e6 / windowWall,
    // What the rest of the machine took from the server's core meanwhile.
    window_others_on_server_core:
      coreAtStart === null || coreAtEnd === null || cpuAtStart === null
        ? null
        : Math.max(0, (coreAtEnd - coreAtStart - (cpuAtEnd - cpuAtStart)) / windowWall),
  });
}

async function connect({ count, concurrency = 100, library = false }) {
  const started = now();
  let failed = 0;
  const errors = new Set();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        clients.push(await openClient(library));
      } catch (error) {
        failed++;
        if (errors.size < 5) errors.add(String(error && error.message));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return {
    connected: count - failed,
    failed,
    errors: [...errors],
    seconds: (now() - started) / 1000,
    total: clients.filter((c) => !c.closed).length,
  };
}

async function probe({ count, gap = 20, library = true }) {
  const times = new Samples();
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const started = now();
    try {
      const sub = await openClient(library);
      times.push(now() - started);
      sub.close();
    } catch {
      failed++;
    }
    await sleep(gap);
  }
  return { failed, latency_ms: times.summary() };
}

function pause({ count }) {
  const chosen = clients.filter((c) => !c.closed && !c.paused).slice(-count);
  for (const c of chosen) {
    c.pauseReading();
    c.paused = true;
  }
  return { paused: chosen.length };
}

// Let the paused clients read again and see what the server kept for them:
// everything (an unbounded buffer), nothing more (it cut them), or part.
async function resume({ published, idle = 3, cap = 60 }) {
  const paused = clients.filter((c) => c.paused);
  for (const c of paused) {
    c.resumeReading();
  }
  const started = now();
  phase.lastDelivery = now();
  const settled = () => paused.every((c) => c.closed || c.received >= published);
  while (!settled()) {
    if (now() - phase.lastDelivery > idle * 1000 || now() - started > cap * 1000) break;
    await sleep(20);
  }
  const cut = paused.filter((c) => c.closed).length;
  const complete = paused.filter((c) => !c.closed && c.received >= published).length;
  for (const c of paused) c.paused = false;
  return {
    resumed: paused.length,
    cut,
    complete,
    partial: paused.length - cut - complete,
    received: paused.reduce((sum, c) => sum + c.received, 0),
    seconds: (now() - started) / 1000,
  };
}

async function closeAll() {
  const count = clients.length;
  for (const c of clients.splice(0)) c.close();
  // Let the close frames go out before the next phase opens new sockets.
  await sleep(200);
  agent.destroy();
  agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return { closed: count };
}

function setTarget(spec) {
  const urls = spec.urls && spec.urls.length ? spec.urls : [spec.url];
  wsTurn = 0;
  publishTurn = 0;
  target = {
    ...spec,
    wsUrl: urls[0].replace(/^http/, "ws"),
    wsUrls: urls.map((url) => url.replace(/^http/, "ws")),
    publishUrls:
      spec.publishUrls && spec.publishUrls.length ? spec.publishUrls : [spec.publishUrl],
  };
  return { target: target.protocol };
}

const commands = {
  target: setTarget,
  connect,
  probe,
  pause,
  resume,
  rate,
  saturate,
  closeAll,
  exit: async () => {
    await closeAll();
    setImmediate(() => process.exit(0));
    return {};
  },
};

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  // One command at a time, in order: phases must never overlap.
  queue = queue.then(async () => {
    let reply;
    try {
      const request = JSON.parse(line);
      const handler = commands[request.cmd];
      if (!handler) throw new Error(`unknown command ${request.cmd}`);
      reply = { ok: true, id: request.id, ...(await handler(request)) };
    } catch (error) {
      reply = { ok: false, error: String((error && error.stack) || error) };
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
  });
});
lines.on("close", () => {
  queue.then(() => process.exit(0));
});
