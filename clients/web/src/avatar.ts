// Loading a VRM (0.x or 1.0) with three-vrm and driving its normalized humanoid from pose frames.
//
// Frames are in VRM 1.0 convention. three-vrm turns a VRM 0.x scene 180° (VRMUtils.rotateVRM0)
// so both versions face +Z; a VRM 0.x normalized bone then takes the VRM 1.0 rotation with x and
// z negated, and the hips position with x and z negated. That mapping lives here and nowhere else.

import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { type VRM, type VRMHumanBoneName, VRMLoaderPlugin, VRMUtils } from "@pixiv/three-vrm";
import { ExpressionTargets } from "./expressions";
import { BONES, type PoseFrame, type Quat, type Vec3 } from "./wire";

export interface LoadedAvatar {
  vrm: VRM;
  isVrm0: boolean;
  /** Its hips' height above its floor in the rest pose, metres. */
  restHipsHeight: number;
  /** Where each frame expression goes on this avatar. */
  expressionTargets: ExpressionTargets;
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
  vrm.scene.updateMatrixWorld(true);
  const hips = vrm.humanoid.getNormalizedBoneNode("hips");
  const restHipsHeight = hips ? hips.getWorldPosition(new THREE.Vector3()).y : 0;
  const expressionTargets = new ExpressionTargets(
    (vrm.expressionManager?.expressions ?? []).map((e) => e.expressionName),
  );
  return { vrm, isVrm0, restHipsHeight, expressionTargets };
}

/** The factor for the frames' hips positions: the avatar's hips height over the performer's
 * (the server's `hips_height_m`), so the performer's feet meet this avatar's floor (PROTOCOL.md,
 * "Hips and root position scaling"). 1 when either is unknown. */
export function positionScale(avatar: LoadedAvatar, performerHipsHeight: number | undefined): number {
  if (!performerHipsHeight || performerHipsHeight <= 0 || avatar.restHipsHeight <= 0) return 1;
  return avatar.restHipsHeight / performerHipsHeight;
}

export async function loadAvatarFromUrl(url: string): Promise<LoadedAvatar> {
  return prepare(await loader().loadAsync(url));
}

export async function loadAvatarFromBytes(bytes: ArrayBuffer): Promise<LoadedAvatar> {
  return prepare(await loader().parseAsync(bytes, ""));
}

const flipQuat = ([x, y, z, w]: Quat): Quat => [-x, y, -z, w];
const flipVec = ([x, y, z]: Vec3): Vec3 => [-x, y, -z];

/** Sets the normalized humanoid and expressions from a frame; absent bones keep their pose.
 * `positionScale` multiplies the hips position (see {@link positionScale}). */
export function applyPose(avatar: LoadedAvatar, frame: PoseFrame, positionScale = 1): void {
  const { vrm, isVrm0 } = avatar;
  for (const [name, q] of Object.entries(frame.bones)) {
    const node = vrm.humanoid.getNormalizedBoneNode(name as VRMHumanBoneName);
    if (node) node.quaternion.fromArray(isVrm0 ? flipQuat(q) : q);
  }
  if (frame.hipsPosition) {
    const hips = vrm.humanoid.getNormalizedBoneNode("hips");
    const p = frame.hipsPosition.map((c) => c * positionScale) as Vec3;
    if (hips) hips.position.fromArray(isVrm0 ? flipVec(p) : p);
  }
  const expressions = vrm.expressionManager;
  if (expressions) {
    for (const [name, weight] of avatar.expressionTargets.targets(frame.expressions)) {
      expressions.setValue(name, weight);
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

/** Camera placements for ?framing=: upper body and face, height and distance in metres for an
 * avatar whose head is at 1.55 m (scaled to the avatar's head). Full body fits the avatar's
 * bounds instead (hair, hats and tails included). */
export const FRAMINGS: Record<string, { height: number; distance: number }> = {
  upper: { height: 1.3, distance: 1.9 },
  face: { height: 1.62, distance: 0.75 },
};

/** The default full-body placement before an avatar is loaded. */
const FULL_DEFAULT = { height: 0.88, distance: 4.3 };
/** Space kept around the avatar's bounds in full-body framing (fraction of its height). */
const FULL_MARGIN = 0.08;

export function placeCamera(camera: THREE.PerspectiveCamera, framing: string, avatar?: LoadedAvatar): void {
  if (!FRAMINGS[framing]) {
    placeFullBody(camera, avatar);
    return;
  }
  const f = FRAMINGS[framing];
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

/** Full body: the whole avatar at rest (its bounding box, with a margin) fits the view, both in
 * height and, for wide avatars, in width. */
function placeFullBody(camera: THREE.PerspectiveCamera, avatar?: LoadedAvatar): void {
  const box = avatar ? new THREE.Box3().setFromObject(avatar.vrm.scene, true) : undefined;
  if (!box || box.isEmpty()) {
    camera.position.set(0, FULL_DEFAULT.height, FULL_DEFAULT.distance);
    camera.lookAt(0, FULL_DEFAULT.height, 0);
    return;
  }
  const size = box.getSize(new THREE.Vector3());
  const center = box.getCenter(new THREE.Vector3());
  const halfHeight = (size.y / 2) * (1 + 2 * FULL_MARGIN);
  const halfWidth = (size.x / 2) * (1 + 2 * FULL_MARGIN);
  const tanV = Math.tan(THREE.MathUtils.degToRad(camera.fov / 2));
  const tanH = tanV * camera.aspect;
  const distance = Math.max(halfHeight / tanV, halfWidth / tanH) + size.z / 2;
  camera.position.set(center.x, center.y, center.z + distance);
  camera.lookAt(center.x, center.y, center.z);
}

/** Whether the avatar's bounds (at its current pose) lie inside the camera's view. */
export function avatarInView(camera: THREE.PerspectiveCamera, avatar: LoadedAvatar): boolean {
  camera.updateMatrixWorld(true);
  const box = new THREE.Box3().setFromObject(avatar.vrm.scene, true);
  const corner = new THREE.Vector3();
  for (let i = 0; i < 8; i++) {
    corner.set(i & 1 ? box.max.x : box.min.x, i & 2 ? box.max.y : box.min.y, i & 4 ? box.max.z : box.min.z);
    corner.project(camera);
    if (Math.abs(corner.x) > 1 || Math.abs(corner.y) > 1) return false;
  }
  return true;
}
