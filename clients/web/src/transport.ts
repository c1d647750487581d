// How pose frames reach the page: a WebRTC data channel (unordered, no retransmissions) set up
// with one WHEP-style POST of the SDP offer, or a WebSocket where WebRTC cannot connect. Either
// way each message is one frame in the wire format; the page keeps only the newest.

export type TransportKind = "webrtc" | "websocket";
export type FrameHandler = (bytes: Uint8Array) => void;

export interface PoseFeed {
  kind: TransportKind;
  /** Resolves when the feed ends (server gone, network change); the caller reconnects. */
  closed: Promise<void>;
  close(): void;
}

const WEBRTC_CONNECT_TIMEOUT_MS = 4000;
const ICE_GATHERING_WAIT_MS = 1000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => { clearTimeout(timer); resolve(v); },
      (e) => { clearTimeout(timer); reject(e); },
    );
  });
}

export async function connectWebRtc(base: string, performer: string, onFrame: FrameHandler): Promise<PoseFeed> {
  const pc = new RTCPeerConnection({ iceServers: [] });
  try {
    const channel = pc.createDataChannel("pose", { ordered: false, maxRetransmits: 0 });
    channel.binaryType = "arraybuffer";
    channel.onmessage = (e) => onFrame(new Uint8Array(e.data as ArrayBuffer));
    const opened = new Promise<void>((resolve, reject) => {
      channel.onopen = () => resolve();
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "failed") reject(new Error("WebRTC connection failed"));
      };
    });
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
    return { kind: "webrtc", closed, close: () => pc.close() };
  } catch (e) {
    pc.close();
    throw e;
  }
}

export async function connectWebSocket(base: string, performer: string, onFrame: FrameHandler): Promise<PoseFeed> {
  const url = new URL(`${base}/ws`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("performer", performer);
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onmessage = (e) => onFrame(new Uint8Array(e.data as ArrayBuffer));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("WebSocket failed to connect"));
  });
  const closed = new Promise<void>((resolve) => (ws.onclose = () => resolve()));
  return { kind: "websocket", closed, close: () => ws.close() };
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
