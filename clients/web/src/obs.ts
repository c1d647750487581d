// The OBS browser-source page: one avatar, driven by one performer, on a transparent background,
// rendered every animation frame from the newest pose.
//
// URL parameters: performer=NAME (default: the server's first performer), avatar=URL (default:
// the performer's avatar on the server), framing=full|upper|face, transport=auto|webrtc|websocket,
// debug=1. A .vrm file dropped on the page replaces the avatar.
//
// Test hook: window.kagura.pose() returns the normalized humanoid rotations and expression
// weights as last applied (VRM 1.0 names and convention); window.kagura.transport names the
// transport in use.
//
// Every start-up step (finding the performer, syncing the clock, loading the avatar) and the feed
// retry with backoff (retry.ts, feed.ts), so the page may be opened before the server and
// survives its restarts. Arriving frames go to a one-frame mailbox (latest.ts) that reads only
// their headers; the newest is decoded and applied once per animation frame.

import * as THREE from "three";
import {
  type LoadedAvatar, applyPose, avatarInView, boneWorldPositions, describeAvatar, loadAvatarFromBytes,
  loadAvatarFromUrl, placeCamera, positionScale, readPose,
} from "./avatar";
import { ServerClock, localNowMs } from "./clock";
import { keepConnected } from "./feed";
import { LatestFrame, type Timing } from "./latest";
import { retry } from "./retry";
import { type PoseFeed, type TransportKind, connect } from "./transport";
import type { PoseFrame } from "./wire";

const params = new URLSearchParams(location.search);
const base = location.origin;
const framing = params.get("framing") ?? "full";
const preference = (params.get("transport") ?? "auto") as "auto" | TransportKind;
const debug = params.get("debug") === "1";

/** How many applied frames' timings the test hook keeps (newest last), for the benchmark. */
const MAX_TIMINGS = 20000;

const state = {
  avatar: undefined as LoadedAvatar | undefined,
  /** The last frame applied: shown again on a newly loaded avatar. */
  shown: undefined as PoseFrame | undefined,
  /** The avatar needs `shown` applied (it was just loaded). */
  reapply: false,
  feed: undefined as PoseFeed | undefined,
  latest: new LatestFrame(),
  /** The page has had an avatar and a feed at once. */
  started: false,
  timings: [] as Timing[],
  error: undefined as string | undefined,
  /** The performer's standing hips height in its frames' units (the server's
   * `hips_height_m`); hips positions are scaled by the avatar's over this. */
  performerHipsHeight: undefined as number | undefined,
};
const clock = new ServerClock();

const renderer = new THREE.WebGLRenderer({ alpha: true, antialias: true, premultipliedAlpha: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(window.devicePixelRatio);
renderer.setSize(window.innerWidth, window.innerHeight);
renderer.setClearColor(0x000000, 0);
renderer.outputColorSpace = THREE.SRGBColorSpace;
document.body.appendChild(renderer.domElement);

const scene = new THREE.Scene();
const camera = new THREE.PerspectiveCamera(30, window.innerWidth / window.innerHeight, 0.05, 50);
scene.add(new THREE.HemisphereLight(0xffffff, 0x667788, 2.2));
const sun = new THREE.DirectionalLight(0xffffff, 2.0);
sun.position.set(1, 2, 3);
scene.add(sun);
placeCamera(camera, framing);

window.addEventListener("resize", () => {
  camera.aspect = window.innerWidth / window.innerHeight;
  camera.updateProjectionMatrix();
  renderer.setSize(window.innerWidth, window.innerHeight);
  placeCamera(camera, framing, state.avatar);
});

function showAvatar(avatar: LoadedAvatar) {
  if (state.avatar) scene.remove(state.avatar.vrm.scene);
  state.avatar = avatar;
  scene.add(avatar.vrm.scene);
  placeCamera(camera, framing, avatar);
  state.reapply = true;
}

/** Latest value wins: the header says whether the frame is the newest; only then its bytes are
 * kept, to be decoded when an animation frame applies it. */
function onFrame(bytes: Uint8Array) {
  state.latest.arrive(bytes, clock.nowUs());
}

/** Reads the performer's standing hips height from /api/status (kept up to date: calibration
 * or a new source may change it). */
async function refreshPerformerHipsHeight(performer: string): Promise<void> {
  try {
    const response = await fetch(`${base}/api/status`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return;
    const status = await response.json();
    const entry = status.performers?.find((p: { name: string }) => p.name === performer);
    if (typeof entry?.hips_height_m === "number") state.performerHipsHeight = entry.hips_height_m;
  } catch {
    // The feed's own retries report a server that is away.
  }
}

/** How often the performer's hips height is read again, ms. */
const HIPS_HEIGHT_REFRESH_MS = 5000;

async function firstPerformer(): Promise<string> {
  const response = await fetch(`${base}/api/status`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`/api/status: ${response.status}`);
  const status = await response.json();
  const first = status.performers?.[0]?.name;
  if (!first) throw new Error("the server has no performers");
  return first;
}

function reportError(what: string) {
  return (e: unknown, retryInMs: number) => {
    state.error = `${what}: ${e}`;
    console.warn(`Kagura: ${state.error} (trying again in ${retryInMs} ms)`);
  };
}

/** Keeps a feed open for the page's lifetime. */
function feedLoop(performer: string): Promise<void> {
  return keepConnected(() => connect(base, performer, preference, onFrame), {
    // Each feed session numbers its frames anew (a restarted server counts from 0).
    connecting: () => {
      state.latest.newSession();
      void refreshPerformerHipsHeight(performer);
    },
    connected: (feed) => {
      state.feed = feed;
      state.error = undefined;
    },
    failed: reportError("connecting"),
    ended: (_, retryInMs) => {
      state.feed = undefined;
      console.warn(`Kagura: the feed ended (reconnecting in ${retryInMs} ms)`);
    },
  });
}

// Dropping a .vrm file on the page replaces the avatar.
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", async (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files[0];
  if (file) showAvatar(await loadAvatarFromBytes(await file.arrayBuffer()));
});

const overlay = document.getElementById("debug")!;
if (debug) overlay.style.display = "block";
let renderFrames = 0;
let renderFps = 0;
let fpsWindowStart = performance.now();
let last = performance.now();

function animate() {
  requestAnimationFrame(animate);
  const now = performance.now();
  const dt = Math.min((now - last) / 1000, 0.1);
  last = now;
  const { avatar, latest } = state;
  if (avatar) {
    const scale = positionScale(avatar, state.performerHipsHeight);
    if (state.reapply && state.shown) applyPose(avatar, state.shown, scale);
    state.reapply = false;
    const timing = latest.applyNewest((frame) => {
      applyPose(avatar, frame, scale);
      state.shown = frame;
    }, () => clock.nowUs());
    if (timing) {
      state.timings.push(timing);
      if (state.timings.length > MAX_TIMINGS) state.timings.splice(0, state.timings.length - MAX_TIMINGS);
    }
  }
  avatar?.vrm.update(dt);
  renderer.render(scene, camera);
  renderFrames++;
  if (now - fpsWindowStart >= 1000) {
    renderFps = (renderFrames * 1000) / (now - fpsWindowStart);
    renderFrames = 0;
    fpsWindowStart = now;
  }
  const { shown } = state;
  if (debug) {
    const age = shown ? (clock.nowUs() - shown.captureUs) / 1000 : NaN;
    overlay.textContent = [
      `transport  ${state.feed?.kind ?? "connecting…"}`,
      `render     ${renderFps.toFixed(1)} fps`,
      `pose age   ${age.toFixed(1)} ms  (seq ${shown?.seq ?? "-"})`,
      `frames     ${latest.framesReceived}  bad ${latest.badFrames}  late ${latest.staleFrames}  skipped ${latest.skippedFrames}`,
      state.error ? `error      ${state.error}` : "",
    ].join("\n");
  } else if (!state.started) {
    // Until the page first comes up, say why not (it keeps trying); from then on stay out of the
    // picture, even while reconnecting (this is someone's stream).
    state.started = !!avatar && !!state.feed;
    const why = state.started ? undefined : state.error;
    overlay.style.display = why ? "block" : "none";
    if (why) overlay.textContent = `Kagura: ${why} (retrying)`;
  }
}

declare global {
  interface Window { kagura: unknown }
}

window.kagura = {
  /** Normalized humanoid rotations and expression weights as last applied. */
  pose: () => (state.avatar ? readPose(state.avatar) : null),
  get transport() { return state.feed?.kind ?? null; },
  get ready() { return !!state.avatar && !!state.feed; },
  get framesReceived() { return state.latest.framesReceived; },
  /** The newest frame accepted (it is applied on the next animation frame). */
  get newestSeq() { return state.latest.newestSeq; },
  /** Its capture time (µs since the Unix epoch): with `newestSeq`, tells frames of a restarted
   * server (counting from 0 again) from the old ones. */
  get newestCaptureUs() { return state.latest.newestCaptureUs; },
  avatar: () => (state.avatar ? describeAvatar(state.avatar) : null),
  /** Whether the whole avatar is in the picture (full-body framing fits its bounds). */
  avatarInView: () => (state.avatar ? avatarInView(camera, state.avatar) : null),
  /** The hips-position scale in force: avatar hips height over the performer's. */
  positionScale: () => (state.avatar ? positionScale(state.avatar, state.performerHipsHeight) : null),
  /** World positions of the rendered skeleton's bones (metres), whatever the VRM version. */
  boneWorldPositions: () => (state.avatar ? boneWorldPositions(state.avatar) : null),
  /** Per-frame capture/arrival/apply times on the server's clock (µs), newest last. */
  timings: () => state.timings.slice(),
  clock: () => ({ offsetMs: clock.offsetMs, rttMs: clock.rttMs, localNowMs: localNowMs() }),
  error: () => state.error ?? null,
};

/** Never gives up: each step is retried with backoff until it succeeds. */
async function main() {
  animate();
  const performer = params.get("performer") ?? (await retry(firstPerformer, { onError: reportError("finding the performer") }));
  const avatarUrl = params.get("avatar") ?? `${base}/avatars/${encodeURIComponent(performer)}.vrm`;
  await retry(() => clock.sync(base), { onError: reportError("syncing the clock") });
  const loading = retry(() => loadAvatarFromUrl(avatarUrl), { onError: reportError("loading the avatar") });
  void feedLoop(performer);
  setInterval(() => void refreshPerformerHipsHeight(performer), HIPS_HEIGHT_REFRESH_MS);
  showAvatar(await loading);
  if (state.feed) state.error = undefined;
}

void main();
