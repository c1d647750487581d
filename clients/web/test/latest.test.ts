// The one-frame mailbox (src/latest.ts): arriving frames are judged by their header only, and the
// newest is decoded once, when an animation frame applies it.
import { describe, expect, it } from "vitest";
import { LatestFrame } from "../src/latest";
import { type PoseFrame, decodeFrame } from "../src/wire";
import { badBodyFrame, emptyFrame } from "./frames";

const T0 = 1_764_000_000_000_000;

/** A mailbox whose decoder counts its calls. */
function counting() {
  const calls = { decodes: 0 };
  const latest = new LatestFrame((bytes) => {
    calls.decodes++;
    return decodeFrame(bytes);
  });
  return { latest, calls };
}

describe("latest frame", () => {
  it("test frames decode", () => {
    expect(decodeFrame(emptyFrame(7, T0, 3))).toMatchObject({ performer: 3, seq: 7, captureUs: T0 });
    expect(() => decodeFrame(badBodyFrame(7, T0))).toThrow();
  });

  it("decodes nothing on arrival and only the newest frame per animation frame", () => {
    const { latest, calls } = counting();
    for (let seq = 1; seq <= 5; seq++) latest.arrive(emptyFrame(seq, T0 + seq), 1000 + seq);
    expect(calls.decodes).toBe(0);
    const applied: PoseFrame[] = [];
    const timing = latest.applyNewest((f) => applied.push(f), () => 2000);
    expect(calls.decodes).toBe(1);
    expect(applied.map((f) => f.seq)).toEqual([5]);
    // The timing hook's entry: header times of the applied frame, its arrival, the apply time.
    expect(timing).toEqual({ seq: 5, captureUs: T0 + 5, arrivalUs: 1005, appliedUs: 2000 });
    expect([latest.framesReceived, latest.skippedFrames, latest.newestSeq]).toEqual([5, 4, 5]);
    // Nothing new: the next animation frame decodes and applies nothing.
    expect(latest.applyNewest((f) => applied.push(f), () => 3000)).toBeUndefined();
    expect(calls.decodes).toBe(1);
    expect(applied.length).toBe(1);
  });

  it("keeps a reference to the arriving bytes, not a copy", () => {
    let seen: Uint8Array | undefined;
    const latest = new LatestFrame((bytes) => {
      seen = bytes;
      return decodeFrame(bytes);
    });
    const bytes = emptyFrame(1, T0);
    latest.arrive(bytes, 0);
    latest.applyNewest(() => undefined, () => 0);
    expect(seen).toBe(bytes);
  });

  it("drops a late frame without replacing the pending one", () => {
    const { latest } = counting();
    latest.arrive(emptyFrame(9, T0 + 9), 1);
    expect(latest.arrive(emptyFrame(8, T0 + 8), 2)).toBe("stale");
    expect(latest.staleFrames).toBe(1);
    expect(latest.applyNewest(() => undefined, () => 3)?.seq).toBe(9);
  });

  it("counts a frame whose header or body is bad, and applies nothing for it", () => {
    const { latest } = counting();
    expect(latest.arrive(new Uint8Array(5), 0)).toBe("bad");
    expect(latest.hasPending).toBe(false);
    latest.arrive(badBodyFrame(1, T0), 1);
    const applied: PoseFrame[] = [];
    expect(latest.applyNewest((f) => applied.push(f), () => 2)).toBeUndefined();
    expect(applied).toEqual([]);
    expect(latest.badFrames).toBe(2);
    expect(latest.hasPending).toBe(false);
  });

  it("accepts a new session's frames from seq 0, however far the old session had counted", () => {
    const { latest } = counting();
    latest.arrive(emptyFrame(40, T0 + 40), 0);
    latest.applyNewest(() => undefined, () => 0);
    latest.newSession();
    // The same capture time as before, even: only the reconnect says this is a new count.
    expect(latest.arrive(emptyFrame(0, T0 + 40), 1)).toBe("restart");
    expect(latest.applyNewest(() => undefined, () => 2)?.seq).toBe(0);
    expect([latest.newestSeq, latest.newestCaptureUs]).toEqual([0, T0 + 40]);
  });
});
