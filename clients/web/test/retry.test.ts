// Retrying (src/retry.ts) and keeping the feed open (src/feed.ts): backoff from the very first
// attempt, 0.5 s doubling to 5 s, and a WebSocket that fails before opening is just one more
// failed attempt. The waits are recorded instead of slept.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type FeedEvents, keepConnected } from "../src/feed";
import { Backoff, retry, sleep } from "../src/retry";
import { type PoseFeed, connectWebSocket } from "../src/transport";
import { FakeWebSocket } from "./fake_websocket";

/** A sleep that returns at once and records what it was asked to wait. */
function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe("backoff", () => {
  it("waits 0.5 s, doubling up to 5 s, and starts again after a reset", () => {
    const b = new Backoff();
    expect(Array.from({ length: 7 }, () => b.next())).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000]);
    b.reset();
    expect(b.next()).toBe(500);
  });
});

describe("retry", () => {
  it("retries from the very first failure until the attempt succeeds", async () => {
    const { waits, sleep } = recordingSleep();
    let calls = 0;
    const errors: string[] = [];
    const value = await retry(
      async () => {
        if (++calls <= 6) throw new Error(`down ${calls}`);
        return "up";
      },
      { sleep, onError: (e, ms) => errors.push(`${(e as Error).message} ${ms}`) },
    );
    expect(value).toBe("up");
    expect(waits).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect(errors[0]).toBe("down 1 500");
  });

  it("stops when aborted, rejecting with the last error", async () => {
    const stop = new AbortController();
    const attempt = retry(async () => Promise.reject(new Error("down")), {
      sleep,
      onError: () => stop.abort(),
      signal: stop.signal,
    });
    await expect(attempt).rejects.toThrow("down");
  });

  it("the real sleep ends early on abort", async () => {
    vi.useFakeTimers();
    const stop = new AbortController();
    let done = false;
    void sleep(60_000, stop.signal).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(10);
    expect(done).toBe(false);
    stop.abort();
    await Promise.resolve();
    expect(done).toBe(true);
    vi.useRealTimers();
  });
});

/** Records the feed loop's events, and stops it after `stopAfter` events. */
function recorder(stop: AbortController, stopAfter: number) {
  const log: string[] = [];
  const note = (s: string) => {
    log.push(s);
    if (log.length >= stopAfter) stop.abort();
  };
  const events: FeedEvents = {
    connecting: () => note("connecting"),
    connected: (feed) => note(`connected ${feed.kind}`),
    failed: (e, ms) => note(`failed ${ms}`),
    ended: (_, ms) => note(`ended ${ms}`),
  };
  return { log, events };
}

describe("keeping the feed open", () => {
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.stubGlobal("WebSocket", FakeWebSocket);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("keeps trying while the server is down, connects when it is up, reconnects when it goes", async () => {
    // The server refuses three sockets, accepts the fourth and closes it, then is down again.
    let n = 0;
    FakeWebSocket.onCreate = (ws) =>
      queueMicrotask(() => {
        n++;
        if (n === 4) {
          ws.open();
          queueMicrotask(() => ws.drop());
        } else if (n === 1) {
          ws.drop(); // closes before it opens, with no error event: used to hang the page
        } else {
          ws.refuse();
        }
      });
    const stop = new AbortController();
    const { waits, sleep } = recordingSleep();
    const { log, events } = recorder(stop, 13);
    await keepConnected(() => connectWebSocket("http://127.0.0.1:1", "main", () => undefined), events, {
      sleep,
      signal: stop.signal,
    });
    expect(log).toEqual([
      "connecting", "failed 500",
      "connecting", "failed 1000",
      "connecting", "failed 2000",
      "connecting", "connected websocket", "ended 500",
      "connecting", "failed 1000",
      "connecting", "failed 2000",
    ]);
    expect(waits).toEqual([500, 1000, 2000, 500, 1000, 2000]);
    // Every socket was closed or failed: none is left open.
    expect(FakeWebSocket.made.every((ws) => ws.readyState === FakeWebSocket.CLOSED)).toBe(true);
  });

  it("closes a feed before the next attempt and when stopped", async () => {
    const feeds: { closed: number }[] = [];
    const makeFeed = (): PoseFeed => {
      const counter = { closed: 0 };
      feeds.push(counter);
      return { kind: "websocket", closed: Promise.resolve(), close: () => counter.closed++ };
    };
    const stop = new AbortController();
    const { sleep } = recordingSleep();
    const connecting: number[] = [];
    await keepConnected(async () => makeFeed(), {
      connecting: () => {
        // The previous feed is closed by the time the next attempt starts.
        connecting.push(feeds.filter((f) => f.closed === 0).length);
        if (connecting.length === 3) stop.abort();
      },
      connected: () => undefined,
      failed: () => undefined,
      ended: () => undefined,
    }, { sleep, signal: stop.signal });
    expect(connecting).toEqual([0, 0, 0]);
    expect(feeds.map((f) => f.closed)).toEqual([1, 1, 1]);
  });

  it("a feed that stays open keeps the loop waiting until it ends", async () => {
    const stop = new AbortController();
    const { sleep } = recordingSleep();
    let end: () => void = () => undefined;
    const closed = new Promise<void>((r) => (end = r));
    const log: string[] = [];
    const loop = keepConnected(async () => ({ kind: "webrtc", closed, close: () => log.push("close") }), {
      connecting: () => log.push("connecting"),
      connected: () => log.push("connected"),
      failed: () => undefined,
      ended: () => stop.abort(),
    }, { sleep, signal: stop.signal });
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(log).toEqual(["connecting", "connected"]);
    end();
    await loop;
    expect(log).toEqual(["connecting", "connected", "close"]);
  });
});
