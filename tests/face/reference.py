"""Face test frames and MediaPipe's answers on them, made at test time (nothing is committed).

    python3 tests/face/reference.py OUT_DIR            frames + OUT_DIR/reference.json
    python3 tests/face/reference.py OUT_DIR --time N   also time MediaPipe N runs per mode
    python3 tests/face/reference.py OUT_DIR --frames-only   frames alone (no MediaPipe needed)

Frames are 640x480 RGB PNGs built from scikit-image's `astronaut.png` (a real face photo that
the scikit-image package ships): the photo fitted into the frame, then sequences that rotate it
in the image plane, scale it, move it, mirror it, and a copy with the eyes painted shut. The
reference landmarks come from `mediapipe==0.10.14`'s face mesh (refine_landmarks: 478 points),
run per sequence in video mode (tracking from frame to frame), as pixels (x, y) and MediaPipe's
own z. Needs: pip install mediapipe==0.10.14 scikit-image
"""

import json
import os
import sys
import time

import numpy as np
from skimage import data, io, transform
from skimage.draw import polygon

W, H = 640, 480

# The eye contours (mesh indices), the face's right then left, for painting the eyes shut.
RIGHT_EYE = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246]
LEFT_EYE = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466]


def base_frame():
    """The astronaut photo (512x512) scaled to 480 high, centred on a grey 640x480 frame."""
    photo = transform.resize(data.astronaut(), (H, H), anti_aliasing=True)
    frame = np.full((H, W, 3), 0.5)
    x0 = (W - H) // 2
    frame[:, x0:x0 + H] = photo
    return frame


def warp(frame, angle_deg=0.0, scale=1.0, shift=(0.0, 0.0)):
    """Rotates (counter-clockwise on screen), scales about the centre, then shifts (pixels)."""
    centre = np.array([W / 2, H / 2])
    t = (transform.SimilarityTransform(translation=-centre)
         + transform.SimilarityTransform(scale=scale, rotation=np.deg2rad(-angle_deg))
         + transform.SimilarityTransform(translation=centre + np.array(shift)))
    return transform.warp(frame, t.inverse, mode="constant", cval=0.5)


def to_u8(frame):
    return (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)


def landmarks_of(mesh, frame_u8):
    result = mesh.process(frame_u8)
    if not result.multi_face_landmarks:
        return None
    return [[p.x * W, p.y * H, p.z] for p in result.multi_face_landmarks[0].landmark]


def eyes_shut(frame_u8, landmarks):
    """Paints each eye with the skin colour just above it (a closed lid), softened."""
    out = frame_u8.astype(np.float64)
    for eye in (RIGHT_EYE, LEFT_EYE):
        pts = np.array([landmarks[i][:2] for i in eye])
        top = pts[:, 1].min()
        height = pts[:, 1].max() - top
        centre = pts.mean(axis=0)
        # Grow the contour by 30% around its centre so that lashes go too.
        grown = centre + (pts - centre) * 1.4
        rr, cc = polygon(grown[:, 1], grown[:, 0], out.shape[:2])
        x0, x1 = int(pts[:, 0].min()), int(pts[:, 0].max())
        y0 = int(top - 1.5 * height)
        skin = out[max(y0, 0):int(top - 0.5 * height), x0:x1].reshape(-1, 3).mean(axis=0)
        out[rr, cc] = skin
        # A closed eye shows its lashes as a dark line where the lids meet (the lower contour).
        lower = pts[:9]
        for (xa, ya), (xb, yb) in zip(lower[:-1], lower[1:]):
            for t in np.linspace(0, 1, 12):
                x, y = xa + (xb - xa) * t, ya + (yb - ya) * t
                out[int(round(y)) - 1:int(round(y)) + 1, int(round(x))] = skin * 0.35
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def sequences(base):
    """(name, [frame, ...], what was applied per frame)."""
    seqs = []
    # About 90°/s at 30 frames per second: a quick head tilt.
    angles = list(range(0, 30, 3)) + list(range(30, -30, -3)) + list(range(-30, 1, 3))
    seqs.append(("roll", [warp(base, angle_deg=a) for a in angles], [{"roll_deg": a} for a in angles]))
    scales = [1.0, 0.9, 0.8, 0.7, 0.8, 0.9, 1.0]
    seqs.append(("scale", [warp(base, scale=s) for s in scales], [{"scale": s} for s in scales]))
    shifts = [(0, 0), (30, 0), (60, 10), (60, 30), (20, 30), (-30, 10), (-60, 0), (0, 0)]
    seqs.append(("shift", [warp(base, shift=s) for s in shifts], [{"shift": s} for s in shifts]))
    seqs.append(("mirror", [base, base[:, ::-1], base[:, ::-1], base], [{"mirrored": m} for m in (False, True, True, False)]))
    return seqs


def main():
    out_dir = sys.argv[1]
    runs = int(sys.argv[sys.argv.index("--time") + 1]) if "--time" in sys.argv else 0
    os.makedirs(out_dir, exist_ok=True)
    if "--frames-only" in sys.argv:
        base = base_frame()
        for name, frames, _ in sequences(base):
            for k, frame in enumerate(frames):
                io.imsave(os.path.join(out_dir, f"{name}_{k:02}.png"), to_u8(frame), check_contrast=False)
        empty = to_u8(transform.resize(data.astronaut()[300:, 250:], (H, W), anti_aliasing=True))
        io.imsave(os.path.join(out_dir, "no_face.png"), empty, check_contrast=False)
        return
    import mediapipe as mp

    def new_mesh(static=False):
        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=0.5, min_tracking_confidence=0.5)

    base = base_frame()
    reference = {"width": W, "height": H, "sequences": {}}
    for name, frames, applied in sequences(base):
        mesh = new_mesh()
        entries = []
        for k, frame in enumerate(frames):
            u8 = to_u8(frame)
            path = os.path.join(out_dir, f"{name}_{k:02}.png")
            io.imsave(path, u8, check_contrast=False)
            entries.append({"file": path, "applied": applied[k], "landmarks": landmarks_of(mesh, u8)})
        reference["sequences"][name] = entries
    # The eyes painted shut, beside the same frame open (each tracked from a fresh start).
    open_u8 = to_u8(base)
    open_lm = landmarks_of(new_mesh(static=True), open_u8)
    shut_u8 = eyes_shut(open_u8, open_lm)
    for name, u8 in (("eyes_open", open_u8), ("eyes_shut", shut_u8)):
        path = os.path.join(out_dir, f"{name}.png")
        io.imsave(path, u8, check_contrast=False)
        reference["sequences"][name] = [{"file": path, "applied": {}, "landmarks": landmarks_of(new_mesh(static=True), u8)}]
    # A frame with no face: the photo's lower right (suit and flag only).
    empty = to_u8(transform.resize(data.astronaut()[300:, 250:], (H, W), anti_aliasing=True))
    path = os.path.join(out_dir, "no_face.png")
    io.imsave(path, empty, check_contrast=False)
    reference["sequences"]["no_face"] = [{"file": path, "applied": {}, "landmarks": landmarks_of(new_mesh(static=True), empty)}]

    if runs:
        frames = [to_u8(f) for f in sequences(base)[0][1]]
        timing = {}
        for mode, static in (("tracking", False), ("detection", True)):
            mesh = new_mesh(static)
            for f in frames:
                mesh.process(f)
            times = []
            for k in range(runs):
                f = frames[k % len(frames)]
                t = time.perf_counter()
                mesh.process(f)
                times.append(time.perf_counter() - t)
            timing[mode] = sorted(times)[len(times) // 2] * 1e3
        reference["mediapipe_median_ms"] = timing
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(reference, f)


if __name__ == "__main__":
    main()
