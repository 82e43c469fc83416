// Reconnecting WebSocket to /ws: authenticates with its FIRST message ({"op": "auth", "key": ...}: the key never
// goes in the URL, which servers and proxies log), subscribes to every channel, dispatches
// {"channel": ..., ...payload} to the listeners of that channel ("*" = all), reconnects with exponential backoff
// (1 s .. 30 s), keeps a ping alive. Close code 4401 = the key was refused (no retry).
export const CHANNELS = ["candles", "signals", "orders", "positions", "trades", "alerts", "events"];

export class LiveSocket {
  constructor() {
    this.key = null;
    this.sock = null;
    this.handlers = new Map();
    this.state = "offline";
    this.backoff = 1000;
    this.timer = null;
    this.pinger = null;
    this.counts = {};
    this.onState = null;
  }

  on(channel, fn) {
    if (!this.handlers.has(channel)) this.handlers.set(channel, new Set());
    this.handlers.get(channel).add(fn);
    return () => this.handlers.get(channel)?.delete(fn);
  }

  setState(s) {
    this.state = s;
    if (this.onState) this.onState(s);
  }

  connect(key) {
    this.key = key;
    this.close();
    this.stopped = false;
    this.open();
  }

  open() {
    if (!this.key || this.stopped) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(`${proto}//${location.host}/ws`);
    this.sock = sock;
    this.setState("connecting");
    sock.addEventListener("open", () => {
      sock.send(JSON.stringify({ op: "auth", key: this.key }));
    });
    sock.addEventListener("message", (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.op === "authenticated") {
        this.backoff = 1000;
        sock.send(JSON.stringify({ op: "subscribe", channels: CHANNELS }));
        this.setState("live");
        clearInterval(this.pinger);
        this.pinger = setInterval(() => {
          if (sock.readyState === WebSocket.OPEN) sock.send(JSON.stringify({ op: "ping" }));
        }, 25000);
        return;
      }
      if (!msg.channel) return;
      this.counts[msg.channel] = (this.counts[msg.channel] || 0) + 1;
      for (const ch of [msg.channel, "*"]) {
        for (const fn of this.handlers.get(ch) || []) {
          try { fn(msg); } catch (err) { console.warn("ws handler failed", err); }
        }
      }
    });
    sock.addEventListener("close", (ev) => {
      clearInterval(this.pinger);
      if (this.sock !== sock) return;
      this.sock = null;
      if (ev.code === 4401) { // the key was refused: no point retrying with it
        this.setState("unauthorized");
        return;
      }
      if (this.stopped) { this.setState("offline"); return; }
      this.setState("reconnecting");
      this.timer = setTimeout(() => this.open(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 30000);
    });
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.sock) {
      const s = this.sock;
      this.sock = null;
      try { s.close(1000); } catch { /* closing anyway */ }
    }
    this.setState("offline");
  }
}
