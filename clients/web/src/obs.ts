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

import * as THREE from "three";
import {
  type LoadedAvatar, applyPose, boneWorldPositions, describeAvatar, loadAvatarFromBytes, loadAvatarFromUrl,
  placeCamera, readPose,
} from "./avatar";
import { ServerClock, localNowMs } from "./clock";
import { type PoseFeed, type TransportKind, connect } from "./transport";
import { type PoseFrame, decodeFrame } from "./wire";

const params = new URLSearchParams(location.search);
const base = location.origin;
const framing = params.get("framing") ?? "full";
const preference = (params.get("transport") ?? "auto") as "auto" | TransportKind;
const debug = params.get("debug") === "1";

/** Per-frame timing, µs on the server's clock, for the latency benchmark. */
interface Timing { seq: number; captureUs: number; arrivalUs: number; appliedUs?: number }
const MAX_TIMINGS = 20000;

const state = {
  avatar: undefined as LoadedAvatar | undefined,
  newest: undefined as PoseFrame | undefined,
  newestTiming: undefined as Timing | undefined,
  applied: false,
  feed: undefined as PoseFeed | undefined,
  framesReceived: 0,
  badFrames: 0,
  timings: [] as Timing[],
  error: undefined as string | undefined,
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
});

function showAvatar(avatar: LoadedAvatar) {
  if (state.avatar) scene.remove(state.avatar.vrm.scene);
  state.avatar = avatar;
  scene.add(avatar.vrm.scene);
  placeCamera(camera, framing, avatar);
  state.applied = false;
}

function onFrame(bytes: Uint8Array) {
  const arrivalUs = clock.nowUs();
  try {
    const frame = decodeFrame(bytes);
    // Latest value wins: an older frame arriving late (unordered channel) is dropped.
    if (state.newest && frame.performer === state.newest.performer && ((frame.seq - state.newest.seq) | 0) <= 0) return;
    state.newest = frame;
    state.newestTiming = { seq: frame.seq, captureUs: frame.captureUs, arrivalUs };
    state.applied = false;
    state.framesReceived++;
  } catch {
    state.badFrames++;
  }
}

async function firstPerformer(): Promise<string> {
  const status = await (await fetch(`${base}/api/status`)).json();
  const first = status.performers?.[0]?.name;
  if (!first) throw new Error("the server has no performers");
  return first;
}

/** Keeps a feed open, reconnecting after a second whenever it ends. */
async function feedLoop(performer: string) {
  for (;;) {
    try {
      state.feed = await connect(base, performer, preference, onFrame);
      state.error = undefined;
      await state.feed.closed;
    } catch (e) {
      state.error = String(e);
      console.warn(`Kagura: ${e}`);
    }
    state.feed = undefined;
    await new Promise((r) => setTimeout(r, 1000));
  }
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
  const { avatar, newest } = state;
  if (avatar && newest && !state.applied) {
    applyPose(avatar, newest);
    state.applied = true;
    const timing = state.newestTiming!;
    timing.appliedUs = clock.nowUs();
    state.timings.push(timing);
    if (state.timings.length > MAX_TIMINGS) state.timings.splice(0, state.timings.length - MAX_TIMINGS);
  }
  avatar?.vrm.update(dt);
  renderer.render(scene, camera);
  renderFrames++;
  if (now - fpsWindowStart >= 1000) {
    renderFps = (renderFrames * 1000) / (now - fpsWindowStart);
    renderFrames = 0;
    fpsWindowStart = now;
  }
  if (debug) {
    const age = newest ? (clock.nowUs() - newest.captureUs) / 1000 : NaN;
    overlay.textContent = [
      `transport  ${state.feed?.kind ?? "connecting…"}`,
      `render     ${renderFps.toFixed(1)} fps`,
      `pose age   ${age.toFixed(1)} ms  (seq ${newest?.seq ?? "-"})`,
      `frames     ${state.framesReceived}  bad ${state.badFrames}`,
      state.error ? `error      ${state.error}` : "",
    ].join("\n");
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
  get framesReceived() { return state.framesReceived; },
  get newestSeq() { return state.newest?.seq ?? null; },
  avatar: () => (state.avatar ? describeAvatar(state.avatar) : null),
  /** World positions of the rendered skeleton's bones (metres), whatever the VRM version. */
  boneWorldPositions: () => (state.avatar ? boneWorldPositions(state.avatar) : null),
  /** Per-frame capture/arrival/apply times on the server's clock (µs), newest last. */
  timings: () => state.timings.slice(),
  clock: () => ({ offsetMs: clock.offsetMs, rttMs: clock.rttMs, localNowMs: localNowMs() }),
  error: () => state.error ?? null,
};

async function main() {
  const performer = params.get("performer") ?? (await firstPerformer());
  const avatarUrl = params.get("avatar") ?? `${base}/avatars/${encodeURIComponent(performer)}.vrm`;
  await clock.sync(base);
  showAvatar(await loadAvatarFromUrl(avatarUrl));
  animate();
  void feedLoop(performer);
}

main().catch((e) => {
  state.error = String(e);
  console.error(e);
  overlay.style.display = "block";
  overlay.textContent = `Kagura: ${e}`;
});
