// Decoder for Kagura's binary pose-frame format, version 1 (protocol/src/wire/mod.rs is the
// reference). One frame per datagram / data-channel message / WebSocket message.
//
// Convention: VRM 1.0 / glTF space (right-handed, +Y up, metres, the avatar faces +Z); bone
// rotations are unit quaternions [x, y, z, w] local to the VRM 1.0 normalized rest pose.
// The name tables below are checked against the Rust ones by test/wire.test.ts, which reads
// vectors written by the Rust tests.

/** The 55 VRM 1.0 humanoid bones in wire order. */
export const BONES: readonly string[] = [
  "hips", "spine", "chest", "upperChest", "neck", "head", "leftEye", "rightEye", "jaw",
  "leftUpperLeg", "leftLowerLeg", "leftFoot", "leftToes", "rightUpperLeg", "rightLowerLeg",
  "rightFoot", "rightToes", "leftShoulder", "leftUpperArm", "leftLowerArm", "leftHand",
  "rightShoulder", "rightUpperArm", "rightLowerArm", "rightHand", "leftThumbMetacarpal",
  "leftThumbProximal", "leftThumbDistal", "leftIndexProximal", "leftIndexIntermediate",
  "leftIndexDistal", "leftMiddleProximal", "leftMiddleIntermediate", "leftMiddleDistal",
  "leftRingProximal", "leftRingIntermediate", "leftRingDistal", "leftLittleProximal",
  "leftLittleIntermediate", "leftLittleDistal", "rightThumbMetacarpal", "rightThumbProximal",
  "rightThumbDistal", "rightIndexProximal", "rightIndexIntermediate", "rightIndexDistal",
  "rightMiddleProximal", "rightMiddleIntermediate", "rightMiddleDistal", "rightRingProximal",
  "rightRingIntermediate", "rightRingDistal", "rightLittleProximal", "rightLittleIntermediate",
  "rightLittleDistal",
];

/** Expressions in wire order: 18 VRM 1.0 presets, then ARKit's 52 blendshapes. */
export const EXPRESSIONS: readonly string[] = [
  "neutral", "aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "angry",
  "sad", "relaxed", "surprised", "lookUp", "lookDown", "lookLeft", "lookRight", "browDownLeft",
  "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
  "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
  "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
  "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft",
  "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft",
  "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft",
  "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
  "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
  "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft",
  "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
];

export const WIRE_VERSION = 1;
const VRM_PRESET_COUNT = 18;
const HEADER_LEN = 16;
const FLAG_ROOT = 1;
const FLAG_HIPS_POSITION = 2;
const FLAG_ALL_BONES = 4;
const KNOWN_FLAGS = FLAG_ROOT | FLAG_HIPS_POSITION | FLAG_ALL_BONES;
const POSITION_BITS = 24;
const POSITION_UNIT = 1e-4;
const ROTATION_COMPONENT_BITS = 14;
const ROTATION_LEVELS = 2 ** ROTATION_COMPONENT_BITS - 2;
const ROTATION_BITS = 2 + 3 * ROTATION_COMPONENT_BITS;

export type Vec3 = [number, number, number];
export type Quat = [number, number, number, number];

export interface PoseFrame extends FrameHeader {
  root?: { position: Vec3; rotation: Quat };
  /** Hips position relative to the root, metres. */
  hipsPosition?: Vec3;
  /** Present bones only, by VRM 1.0 name. */
  bones: Record<string, Quat>;
  /** Present expressions only, by VRM 1.0 preset or ARKit name, 0..1. */
  expressions: Record<string, number>;
}

export class WireError extends Error {}

/** Reads bit fields least significant bit first; throws WireError past the end. */
class BitReader {
  private bit = 0;
  constructor(private readonly bytes: Uint8Array) {}

  read(bits: number, what: string): number {
    if (this.bit + bits > this.bytes.length * 8) throw new WireError(`frame ends inside its ${what}`);
    let value = 0;
    for (let i = 0; i < bits; i++) {
      const at = this.bit + i;
      if ((this.bytes[at >> 3] >> (at & 7)) & 1) value += 2 ** i;
    }
    this.bit += bits;
    return value;
  }

  onlyPaddingLeft(): boolean {
    const wholeBytes = Math.ceil(this.bit / 8);
    if (wholeBytes !== this.bytes.length) return false;
    return this.bit % 8 === 0 || this.bytes[this.bit >> 3] >> (this.bit % 8) === 0;
  }
}

function readPosition(r: BitReader, what: string): Vec3 {
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    let steps = r.read(POSITION_BITS, what);
    if (steps >= 2 ** (POSITION_BITS - 1)) steps -= 2 ** POSITION_BITS;
    out.push(steps * POSITION_UNIT);
  }
  return out as Vec3;
}

/** Unpacks a 44-bit smallest-three rotation on the equal-angle grid. */
function readRotation(r: BitReader, what: string): Quat {
  const k = r.read(2, what);
  const c = [1, 1, 1, 1];
  for (let i = 0; i < 4; i++) {
    if (i === k) continue;
    const level = r.read(ROTATION_COMPONENT_BITS, what);
    c[i] = Math.tan((level / ROTATION_LEVELS) * (Math.PI / 2) - Math.PI / 4);
  }
  const n = Math.hypot(c[0], c[1], c[2], c[3]);
  return [c[0] / n, c[1] / n, c[2] / n, c[3] / n];
}

/** The fixed header every frame starts with. */
export interface FrameHeader {
  performer: number;
  seq: number;
  /** Capture time, µs since the Unix epoch on the capture node. */
  captureUs: number;
}

/**
 * Reads the header only (16 bytes, no allocation beyond the result): cheap enough for every
 * arriving frame. Throws WireError if the bytes are too short or of another version; a frame
 * whose header reads may still fail `decodeFrame`.
 */
export function peekHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < HEADER_LEN) throw new WireError(`frame is ${bytes.length} bytes, shorter than the header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== WIRE_VERSION) throw new WireError(`frame has wire version ${version}`);
  return {
    performer: view.getUint16(2, true),
    seq: view.getUint32(4, true),
    captureUs: Number(view.getBigUint64(8, true)),
  };
}

/** Decodes one frame; throws WireError for anything that is not exactly one valid frame. */
export function decodeFrame(bytes: Uint8Array): PoseFrame {
  const header = peekHeader(bytes);
  const flags = bytes[1];
  if (flags & ~KNOWN_FLAGS) throw new WireError(`frame sets unknown flag bits`);
  const frame: PoseFrame = { ...header, bones: {}, expressions: {} };
  const r = new BitReader(bytes.subarray(HEADER_LEN));
  if (flags & FLAG_ROOT) {
    const position = readPosition(r, "root position");
    frame.root = { position, rotation: readRotation(r, "root rotation") };
  }
  if (flags & FLAG_HIPS_POSITION) frame.hipsPosition = readPosition(r, "hips position");
  const bonePresent = BONES.map(() => (flags & FLAG_ALL_BONES) !== 0);
  if (!(flags & FLAG_ALL_BONES)) {
    for (let i = 0; i < BONES.length; i++) bonePresent[i] = r.read(1, "bone mask") === 1;
  }
  for (let i = 0; i < BONES.length; i++) {
    if (bonePresent[i]) frame.bones[BONES[i]] = readRotation(r, "bone rotations");
  }
  const expressionPresent = EXPRESSIONS.map(() => false);
  for (const [start, end] of [[0, VRM_PRESET_COUNT], [VRM_PRESET_COUNT, EXPRESSIONS.length]]) {
    const code = r.read(2, "expression groups");
    if (code === 1) {
      for (let i = start; i < end; i++) expressionPresent[i] = true;
    } else if (code === 2) {
      for (let i = start; i < end; i++) expressionPresent[i] = r.read(1, "expression mask") === 1;
    } else if (code !== 0) {
      throw new WireError(`frame has an invalid expression group code ${code}`);
    }
  }
  for (let i = 0; i < EXPRESSIONS.length; i++) {
    if (expressionPresent[i]) frame.expressions[EXPRESSIONS[i]] = r.read(8, "expression weights") / 255;
  }
  if (!r.onlyPaddingLeft()) throw new WireError("frame has bytes after its end");
  return frame;
}
