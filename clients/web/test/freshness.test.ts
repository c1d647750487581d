// The newest-frame decision (src/freshness.ts): late frames are dropped, wraparound is newer, and
// a restarted server's frames are taken at once rather than after its count passes the old one.
import { describe, expect, it } from "vitest";
import { type FrameStamp, Freshness, RESTART_SEQ_GAP, judge, seqDistance } from "../src/freshness";

const T0 = 1_764_000_000_000_000;
const stamp = (seq: number, captureUs: number, performer = 0): FrameStamp => ({ performer, seq, captureUs });
/** Frame `seq` of a 60 Hz stream whose frame 0 was captured at `startUs`. */
const at60 = (seq: number, startUs = T0) => stamp(seq, startUs + seq * 16_667);

describe("freshness", () => {
  it("accepts each newer frame and drops a late old one and a repeat", () => {
    const f = new Freshness();
    expect(f.offer(at60(10))).toBe("restart"); // the first frame of a session
    expect(f.offer(at60(11))).toBe("newer");
    expect(f.offer(at60(13))).toBe("newer"); // 12 overtaken on the unordered channel
    expect(f.offer(at60(12))).toBe("stale"); // and arriving late: dropped
    expect(f.offer(at60(13))).toBe("stale");
    expect(f.newest?.seq).toBe(13);
    expect(f.offer(at60(14))).toBe("newer");
  });

  it("takes a restarted server's frames at once (its count starts again at 0)", () => {
    const f = new Freshness();
    for (let seq = 100_000; seq < 100_010; seq++) f.offer(at60(seq));
    // The old check, ((seq - newest) | 0) <= 0, dropped these until seq passed 100009.
    const restartUs = T0 + 100_010 * 16_667 + 2_000_000;
    expect(f.offer(at60(0, restartUs))).toBe("restart");
    for (let seq = 1; seq < 10; seq++) expect(f.offer(at60(seq, restartUs))).toBe("newer");
    expect(f.newest?.seq).toBe(9);
    // Reordering within the new run is still caught.
    expect(f.offer(at60(11, restartUs))).toBe("newer");
    expect(f.offer(at60(10, restartUs))).toBe("stale");
  });

  it("takes a restart early in the old run by its newer capture time", () => {
    const f = new Freshness();
    for (let seq = 0; seq < 50; seq++) f.offer(at60(seq));
    expect(f.offer(at60(0, T0 + 5_000_000))).toBe("restart");
    expect(f.offer(at60(1, T0 + 5_000_000))).toBe("newer");
  });

  it("takes a far backward jump as a restart even without a newer capture time", () => {
    const f = new Freshness();
    const newest = stamp(5_000, T0 + 10);
    f.offer(newest);
    // Within the gap and not newer: a late frame.
    expect(judge(newest, stamp(5_000 - RESTART_SEQ_GAP, T0))).toBe("stale");
    // Past the gap: no late frame is that late, so a new sequence space.
    expect(judge(newest, stamp(5_000 - RESTART_SEQ_GAP - 1, T0))).toBe("restart");
    expect(f.offer(stamp(3, T0))).toBe("restart");
    expect(f.offer(stamp(4, T0 + 1))).toBe("newer");
  });

  it("counts on through the 32-bit wraparound and still drops late frames across it", () => {
    const f = new Freshness();
    const top = 2 ** 32 - 2;
    expect(f.offer(at60(top))).toBe("restart");
    expect(f.offer(at60(top + 1))).toBe("newer"); // 0xFFFFFFFF
    expect(f.offer(stamp(1, T0 + (top + 3) * 16_667))).toBe("newer"); // 0 overtaken
    expect(f.offer(stamp(0, T0 + (top + 2) * 16_667))).toBe("stale"); // 0 arrives late
    expect(f.offer(at60(top + 1))).toBe("stale");
    expect(f.offer(stamp(2, T0 + (top + 4) * 16_667))).toBe("newer");
    expect(seqDistance(0, 2 ** 32 - 1)).toBe(1);
    expect(seqDistance(2 ** 32 - 1, 0)).toBe(-1);
  });

  it("accepts any frame after a reset (a feed reconnected)", () => {
    const f = new Freshness();
    f.offer(at60(70));
    f.reset();
    expect(f.newest).toBeUndefined();
    // Same capture clock, lower seq, near: without the reset this would be a late frame.
    expect(f.offer(at60(3))).toBe("restart");
    expect(f.offer(at60(2))).toBe("stale");
  });

  it("treats another performer's frame as a new sequence space", () => {
    const f = new Freshness();
    f.offer(stamp(500, T0 + 100, 0));
    expect(f.offer(stamp(2, T0, 1))).toBe("restart");
    expect(f.offer(stamp(1, T0, 1))).toBe("stale");
  });
});
