// The WebSocket transport (src/transport.ts) against a fake WebSocket: connecting settles in every
// case, promptly when the socket fails before opening, and a closed feed delivers nothing more.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WEBSOCKET_CONNECT_TIMEOUT_MS, connect, connectWebSocket } from "../src/transport";
import { FakeWebSocket } from "./fake_websocket";

const BASE = "http://127.0.0.1:8080";
const noFrames = () => undefined;

beforeEach(() => {
  FakeWebSocket.reset();
  vi.stubGlobal("WebSocket", FakeWebSocket);
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("WebSocket transport", () => {
  it("connects to /ws for the performer and hands each message over as bytes", async () => {
    FakeWebSocket.onCreate = (ws) => queueMicrotask(() => ws.open());
    const frames: number[][] = [];
    const feed = await connectWebSocket(BASE, "main one", (b) => frames.push([...b]));
    const ws = FakeWebSocket.made[0];
    expect(ws.url).toBe("ws://127.0.0.1:8080/ws?performer=main+one");
    expect(ws.binaryType).toBe("arraybuffer");
    expect(feed.kind).toBe("websocket");
    ws.receive(Uint8Array.of(1, 2, 3));
    expect(frames).toEqual([[1, 2, 3]]);
  });

  // "Promptly": well before the connect timeout (these used to hang for ever).
  it("rejects promptly when the socket closes before it opens", { timeout: 500 }, async () => {
    FakeWebSocket.onCreate = (ws) => queueMicrotask(() => ws.drop());
    await expect(connectWebSocket(BASE, "main", noFrames)).rejects.toThrow(/closed before it opened/);
  });

  it("rejects promptly when the connection is refused (error, then close)", { timeout: 500 }, async () => {
    FakeWebSocket.onCreate = (ws) => queueMicrotask(() => ws.refuse());
    await expect(connectWebSocket(BASE, "main", noFrames)).rejects.toThrow(/failed to connect/);
  });

  it("gives up and closes the socket when it neither opens nor fails", async () => {
    vi.useFakeTimers();
    const attempt = connectWebSocket(BASE, "main", noFrames);
    const outcome = attempt.then(() => "opened", (e) => String(e));
    await vi.advanceTimersByTimeAsync(WEBSOCKET_CONNECT_TIMEOUT_MS - 1);
    expect(FakeWebSocket.made[0].closeCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toMatch(/did not open within/);
    expect(FakeWebSocket.made[0].closeCalls).toBe(1);
  });

  it("ends the feed when the server closes it, and delivers nothing after close()", async () => {
    FakeWebSocket.onCreate = (ws) => queueMicrotask(() => ws.open());
    let frames = 0;
    const feed = await connectWebSocket(BASE, "main", () => frames++);
    const ws = FakeWebSocket.made[0];
    let ended = false;
    void feed.closed.then(() => (ended = true));
    ws.receive(Uint8Array.of(1));
    feed.close();
    ws.receive(Uint8Array.of(2)); // already in flight when the page closed it
    expect(frames).toBe(1);
    await Promise.resolve();
    await Promise.resolve();
    expect(ended).toBe(true);

    FakeWebSocket.onCreate = (w) => queueMicrotask(() => w.open());
    const second = await connectWebSocket(BASE, "main", noFrames);
    let secondEnded = false;
    void second.closed.then(() => (secondEnded = true));
    FakeWebSocket.made[1].drop();
    await second.closed;
    expect(secondEnded).toBe(true);
  });

  it("falls back to the WebSocket when WebRTC is unavailable (auto)", async () => {
    vi.stubGlobal("RTCPeerConnection", undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    FakeWebSocket.onCreate = (ws) => queueMicrotask(() => ws.open());
    const feed = await connect(BASE, "main", "auto", noFrames);
    expect(feed.kind).toBe("websocket");
  });
});
