// Loading a VRM (0.x or 1.0) with three-vrm and driving its normalized humanoid from pose frames.
//
// Frames are in VRM 1.0 convention. three-vrm turns a VRM 0.x scene 180° (VRMUtils.rotateVRM0)
// so both versions face +Z; a VRM 0.x normalized bone then takes the VRM 1.0 rotation with x and
// z negated, and the hips position with x and z negated. That mapping lives here and nowhere else.

import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { type VRM, type VRMHumanBoneName, VRMLoaderPlugin, VRMUtils } from "@pixiv/three-vrm";
import { BONES, type PoseFrame, type Quat, type Vec3 } from "./wire";

export interface LoadedAvatar {
  vrm: VRM;
  isVrm0: boolean;
}

function loader(): GLTFLoader {
  const l = new GLTFLoader();
  l.register((parser) => new VRMLoaderPlugin(parser));
  return l;
}

function prepare(gltf: { userData: { vrm?: VRM } }): LoadedAvatar {
  const vrm = gltf.userData.vrm;
  if (!vrm) throw new Error("the file is glTF but not VRM");
  const isVrm0 = vrm.meta.metaVersion === "0";
  if (isVrm0) VRMUtils.rotateVRM0(vrm);
  VRMUtils.removeUnnecessaryVertices(vrm.scene);
  vrm.scene.traverse((o) => (o.frustumCulled = false));
  return { vrm, isVrm0 };
}

export async function loadAvatarFromUrl(url: string): Promise<LoadedAvatar> {
  return prepare(await loader().loadAsync(url));
}

export async function loadAvatarFromBytes(bytes: ArrayBuffer): Promise<LoadedAvatar> {
  return prepare(await loader().parseAsync(bytes, ""));
}

const flipQuat = ([x, y, z, w]: Quat): Quat => [-x, y, -z, w];
const flipVec = ([x, y, z]: Vec3): Vec3 => [-x, y, -z];

/** Sets the normalized humanoid and expressions from a frame; absent bones keep their pose. */
export function applyPose(avatar: LoadedAvatar, frame: PoseFrame): void {
  const { vrm, isVrm0 } = avatar;
  for (const [name, q] of Object.entries(frame.bones)) {
    const node = vrm.humanoid.getNormalizedBoneNode(name as VRMHumanBoneName);
    if (node) node.quaternion.fromArray(isVrm0 ? flipQuat(q) : q);
  }
  if (frame.hipsPosition) {
    const hips = vrm.humanoid.getNormalizedBoneNode("hips");
    if (hips) hips.position.fromArray(isVrm0 ? flipVec(frame.hipsPosition) : frame.hipsPosition);
  }
  const expressions = vrm.expressionManager;
  if (expressions) {
    for (const [name, weight] of Object.entries(frame.expressions)) {
      if (expressions.getExpression(name)) expressions.setValue(name, weight);
    }
  }
}

/** What the avatar shows now, read back from it, in VRM 1.0 names and convention. */
export function readPose(avatar: LoadedAvatar): { bones: Record<string, Quat>; expressions: Record<string, number> } {
  const { vrm, isVrm0 } = avatar;
  const bones: Record<string, Quat> = {};
  for (const name of BONES) {
    const node = vrm.humanoid.getNormalizedBoneNode(name as VRMHumanBoneName);
    if (!node) continue;
    const q = node.quaternion.toArray() as Quat;
    bones[name] = isVrm0 ? flipQuat(q) : q;
  }
  const expressions: Record<string, number> = {};
  for (const e of vrm.expressionManager?.expressions ?? []) {
    expressions[e.expressionName] = vrm.expressionManager!.getValue(e.expressionName) ?? 0;
  }
  return { bones, expressions };
}

/** Where each bone of the rendered (raw) skeleton is, in world space, metres: independent of the
 * VRM version, so two avatars of the same shape can be compared. */
export function boneWorldPositions(avatar: LoadedAvatar): Record<string, Vec3> {
  const out: Record<string, Vec3> = {};
  const p = new THREE.Vector3();
  avatar.vrm.scene.updateMatrixWorld(true);
  for (const name of BONES) {
    const node = avatar.vrm.humanoid.getRawBoneNode(name as VRMHumanBoneName);
    if (node) out[name] = node.getWorldPosition(p).toArray() as Vec3;
  }
  return out;
}

/** Bones and expressions the avatar has (for tests and the debug overlay). */
export function describeAvatar(avatar: LoadedAvatar): { bones: string[]; expressions: string[]; vrmVersion: string } {
  const { vrm } = avatar;
  return {
    bones: BONES.filter((b) => vrm.humanoid.getNormalizedBoneNode(b as VRMHumanBoneName)),
    expressions: (vrm.expressionManager?.expressions ?? []).map((e) => e.expressionName),
    vrmVersion: avatar.isVrm0 ? "0.x" : "1.0",
  };
}

/** Camera placements for ?framing=: full body, upper body, face. Height and distance, metres. */
export const FRAMINGS: Record<string, { height: number; distance: number }> = {
  full: { height: 0.88, distance: 4.3 },
  upper: { height: 1.3, distance: 1.9 },
  face: { height: 1.62, distance: 0.75 },
};

export function placeCamera(camera: THREE.PerspectiveCamera, framing: string, avatar?: LoadedAvatar): void {
  const f = FRAMINGS[framing] ?? FRAMINGS.full;
  // Scale the framing to the avatar: a tall avatar's head is higher.
  let scale = 1;
  const head = avatar?.vrm.humanoid.getNormalizedBoneNode("head");
  if (head) {
    const p = new THREE.Vector3();
    head.getWorldPosition(p);
    if (p.y > 0.3) scale = p.y / 1.55;
  }
  camera.position.set(0, f.height * scale, f.distance * scale);
  camera.lookAt(0, f.height * scale, 0);
}
