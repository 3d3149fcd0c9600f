// One WebSocket session at a time: hello/welcome, keepalive pings, reconnect with backoff, and
// the 4001 stop. Rooms and the dashboard sit above it and never see the socket itself.

import { parseServerFrames } from './codec';
import type { ClientFrame, ServerFrame } from './protocol';
import { backoffDelay } from './timing';

/** The part of the browser WebSocket the client uses; tests pass a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export const defaultSocketFactory: SocketFactory = (url) =>
  new WebSocket(url) as unknown as SocketLike;

const OPEN = 1;
export const CLOSE_UNAUTHORIZED = 4001;
export const CLIENT_NAME = 'web/0.1';
export const PING_INTERVAL_MS = 15_000;
// The server answers every ping at once; no frame this long after one means the path is dead
// even though the browser has not noticed (a cable pulled, a laptop that slept, a NAT that
// forgot us). With the browser's own `offline` event, a lost network shows within seconds.
export const PONG_DEADLINE_MS = 4_000;
// After a drop, the first attempts come quickly (a restarted server is back within a second or
// two), jittered so a crowd does not arrive at once; then the backoff grows to 10 s.
export const FAST_RETRIES = 6;
export function reconnectDelay(attempt: number, random: () => number): number {
  if (attempt < FAST_RETRIES) return 100 + Math.floor(random() * 400);
  return 500 + backoffDelay(attempt - FAST_RETRIES, random, 1_000);
}

export interface ConnectionEvents {
  /** The session is ready (welcome received): join rooms, watch the dashboard. */
  onWelcome(welcome: Extract<ServerFrame, { type: 'welcome' }>): void;
  onFrame(frame: ServerFrame): void;
  /** The session ended; `willRetry` is false after 4001 or close(). */
  onDown(willRetry: boolean): void;
  onAuthError(message: string): void;
}

export interface ConnectionOptions {
  url: string;
  token: string;
  factory: SocketFactory;
  random: () => number;
  events: ConnectionEvents;
}

export class Connection {
  private socket: SocketLike | null = null;
  private welcomed = false;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private lastHeard = 0;

  constructor(private readonly options: ConnectionOptions) {}

  get ready(): boolean {
    return this.welcomed && !this.stopped;
  }

  /** Starts connecting (once). */
  start(): void {
    if (!this.socket && !this.reconnectTimer && !this.stopped) {
      this.listen(true);
      this.connect();
    }
  }

  private listen(on: boolean): void {
    const g = globalThis as unknown as {
      addEventListener?: (type: string, fn: () => void) => void;
      removeEventListener?: (type: string, fn: () => void) => void;
      document?: { addEventListener?: (type: string, fn: () => void) => void; removeEventListener?: (type: string, fn: () => void) => void };
    };
    const method = on ? 'addEventListener' : 'removeEventListener';
    g[method]?.('online', this.onBrowserOnline);
    g[method]?.('offline', this.onBrowserOffline);
    g.document?.[method]?.('visibilitychange', this.onVisible);
  }

  // The browser says the network is gone: say so now rather than when a ping goes unanswered.
  private readonly onBrowserOffline = (): void => {
    const s = this.socket;
    if (this.stopped || !s) return;
    try {
      s.close(4000, 'the browser is offline');
    } catch {
      // Already closing.
    }
    this.onClosed(1006, 'offline');
  };

  // A page shown again (a laptop opened, a tab brought back) checks its socket at once.
  private readonly onVisible = (): void => {
    const doc = (globalThis as unknown as { document?: { visibilityState?: string } }).document;
    if (doc?.visibilityState === 'visible' && this.welcomed) this.ping();
  };

  // The browser says the network is back: waiting out a long backoff would only delay the sync.
  private readonly onBrowserOnline = (): void => {
    if (this.stopped || !this.reconnectTimer) return;
    clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    this.connect();
  };

  /** Sends a frame when the session is ready; false otherwise (the caller queues). */
  send(frame: ClientFrame): boolean {
    const s = this.socket;
    if (!this.welcomed || !s || s.readyState !== OPEN) return false;
    s.send(JSON.stringify(frame));
    return true;
  }

  /** Closes for good (sign out). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.listen(false);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const s = this.socket;
    this.detach();
    if (s) {
      try {
        s.close(1000, 'closed');
      } catch {
        // Already closing.
      }
    }
    this.options.events.onDown(false);
  }

  private connect(): void {
    this.reconnectTimer = null;
    let s: SocketLike;
    try {
      s = this.options.factory(this.options.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = s;
    s.onopen = () => {
      const hello: ClientFrame = {
        type: 'hello',
        token: this.options.token,
        client: CLIENT_NAME,
        batch: true,
      };
      s.send(JSON.stringify(hello));
    };
    s.onmessage = (ev) => {
      if (this.socket !== s) return;
      this.lastHeard = Date.now();
      if (typeof ev.data !== 'string') return;
      for (const frame of parseServerFrames(ev.data)) {
        // A frame's handler may have closed this socket: the rest of its batch is not for us.
        if (this.socket !== s) return;
        if (frame.type === 'welcome') {
          if (this.welcomed) continue;
          this.welcomed = true;
          this.attempt = 0;
          this.startPings();
          this.options.events.onWelcome(frame);
          continue;
        }
        if (this.welcomed) this.options.events.onFrame(frame);
      }
    };
    s.onclose = (ev) => {
      if (this.socket !== s) return;
      this.onClosed(ev.code, ev.reason);
    };
    // A browser fires `close` after `error`; nothing to do until then.
    s.onerror = () => {};
  }

  private onClosed(code: number, reason: string): void {
    this.detach();
    if (this.stopped) return;
    if (code === CLOSE_UNAUTHORIZED) {
      // A token the server refuses will be refused again: stop and let the page sign in anew.
      this.stopped = true;
      this.listen(false);
      this.options.events.onAuthError(reason || 'unauthorized');
      this.options.events.onDown(false);
      return;
    }
    // 1001 (going away), 4008 (slow consumer), 4029, network loss: come back and resume.
    this.options.events.onDown(true);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = reconnectDelay(this.attempt, this.options.random);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private detach(): void {
    const s = this.socket;
    if (s) {
      s.onopen = null;
      s.onmessage = null;
      s.onclose = null;
      s.onerror = null;
    }
    this.socket = null;
    this.welcomed = false;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  private startPings(): void {
    this.lastHeard = Date.now();
    this.pingTimer = setInterval(() => this.ping(), PING_INTERVAL_MS);
  }

  // Sends a ping; no frame at all before the deadline closes the socket as dead.
  private ping(): void {
    const s = this.socket;
    if (!s || this.pongTimer) return;
    const sentAt = Date.now();
    if (!this.send({ type: 'ping', t: sentAt })) return;
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      if (this.socket !== s || this.lastHeard >= sentAt) return;
      try {
        s.close(4000, 'no answer to pings');
      } catch {
        // The socket is already gone.
      }
      this.onClosed(1006, 'silent');
    }, PONG_DEADLINE_MS);
  }
}
