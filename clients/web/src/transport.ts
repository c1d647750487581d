// How pose frames reach the page: a WebRTC data channel (unordered, no retransmissions) set up
// with one WHEP-style POST of the SDP offer, or a WebSocket where WebRTC cannot connect. Either
// way each message is one frame in the wire format; the page keeps only the newest.

export type TransportKind = "webrtc" | "websocket";
export type FrameHandler = (bytes: Uint8Array) => void;

export interface PoseFeed {
  kind: TransportKind;
  /** Resolves when the feed ends (server gone, network change); the caller then calls `close`
   * and reconnects. */
  closed: Promise<void>;
  /** Ends the feed; no frame is handed over after it returns. */
  close(): void;
}

const WEBRTC_CONNECT_TIMEOUT_MS = 4000;
const ICE_GATHERING_WAIT_MS = 1000;
/** How long the signalling POST may take, answer included. */
const SIGNALLING_TIMEOUT_MS = 4000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e) => { clearTimeout(timer); reject(e); },
    );
  });
}

/**
 * Opens a WebRTC data channel for `performer`. Resolves once the channel is open; rejects if
 * signalling fails or takes over SIGNALLING_TIMEOUT_MS, the connection fails or closes, or the
 * channel is not open within WEBRTC_CONNECT_TIMEOUT_MS (the peer connection is then closed). No frame is handed to `onFrame`
 * after `close()` or after a failed attempt.
 */
export async function connectWebRtc(base: string, performer: string, onFrame: FrameHandler): Promise<PoseFeed> {
  const pc = new RTCPeerConnection({ iceServers: [] });
  let live = true;
  const close = () => {
    live = false;
    pc.close();
  };
  try {
    const channel = pc.createDataChannel("pose", { ordered: false, maxRetransmits: 0 });
    channel.binaryType = "arraybuffer";
    channel.onmessage = (e) => live && onFrame(new Uint8Array(e.data as ArrayBuffer));
    const opened = new Promise<void>((resolve, reject) => {
      channel.onopen = () => resolve();
      channel.onclose = () => reject(new Error("WebRTC data channel closed before it opened"));
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "failed" || pc.connectionState === "closed") {
          reject(new Error(`WebRTC connection ${pc.connectionState}`));
        }
      };
    });
    opened.catch(() => undefined); // settled later by withTimeout; never an unhandled rejection
    await pc.setLocalDescription(await pc.createOffer());
    // Non-trickle: give the browser a moment to gather its candidates into the offer.
    await withTimeout(
      new Promise<void>((resolve) => {
        if (pc.iceGatheringState === "complete") resolve();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
      }),
      ICE_GATHERING_WAIT_MS,
      "ICE gathering",
    ).catch(() => undefined);
    const response = await fetch(`${base}/api/webrtc/${encodeURIComponent(performer)}`, {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: pc.localDescription!.sdp,
      signal: AbortSignal.timeout(SIGNALLING_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`WebRTC signalling: ${response.status} ${await response.text()}`);
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    await withTimeout(opened, WEBRTC_CONNECT_TIMEOUT_MS, "WebRTC data channel");
    const closed = new Promise<void>((resolve) => {
      channel.onclose = () => resolve();
      pc.onconnectionstatechange = () => {
        if (["failed", "closed", "disconnected"].includes(pc.connectionState)) resolve();
      };
    });
    return { kind: "webrtc", closed, close };
  } catch (e) {
    close();
    throw e;
  }
}

/** How long a WebSocket may take to open before the attempt is given up. */
export const WEBSOCKET_CONNECT_TIMEOUT_MS = 4000;

/**
 * Opens the WebSocket fallback for `performer`. Resolves once the socket is open; rejects
 * promptly if it errors or closes before opening, or if it has not opened within
 * WEBSOCKET_CONNECT_TIMEOUT_MS (the socket is then closed). `closed` resolves when an open
 * socket closes or errors. No frame is handed to `onFrame` after `close()`.
 */
export function connectWebSocket(base: string, performer: string, onFrame: FrameHandler): Promise<PoseFeed> {
  const url = new URL(`${base}/ws`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("performer", performer);
  return new Promise<PoseFeed>((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      reject(e); // a malformed URL throws synchronously
      return;
    }
    let live = true;
    const close = () => {
      live = false;
      ws.close();
    };
    let ended: () => void = () => undefined;
    const closed = new Promise<void>((r) => (ended = r));
    const timer = setTimeout(() => {
      close();
      reject(new Error(`WebSocket did not open within ${WEBSOCKET_CONNECT_TIMEOUT_MS} ms`));
    }, WEBSOCKET_CONNECT_TIMEOUT_MS);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => live && onFrame(new Uint8Array(e.data as ArrayBuffer));
    ws.onopen = () => {
      clearTimeout(timer);
      resolve({ kind: "websocket", closed, close });
    };
    // Before `open` these reject the attempt; after it, they end the feed. (A promise settles
    // once: whichever comes first counts.)
    const fail = (why: string) => () => {
      clearTimeout(timer);
      live = false;
      reject(new Error(why));
      ended();
    };
    ws.onerror = fail("WebSocket failed to connect");
    ws.onclose = fail("WebSocket closed before it opened");
  });
}

/** Connects with the preferred transport; `auto` tries WebRTC and falls back to WebSocket. */
export async function connect(
  base: string,
  performer: string,
  preference: "auto" | TransportKind,
  onFrame: FrameHandler,
): Promise<PoseFeed> {
  if (preference !== "websocket") {
    try {
      return await connectWebRtc(base, performer, onFrame);
    } catch (e) {
      if (preference === "webrtc") throw e;
      console.warn(`Kagura: WebRTC unavailable (${e}); falling back to WebSocket`);
    }
  }
  return connectWebSocket(base, performer, onFrame);
}
