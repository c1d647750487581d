// Which arriving frame is the newest: the page keeps one frame and must not let a late old frame
// (the WebRTC channel is unordered) replace a newer one, nor let the old sequence space of a
// restarted server hide the new one. Pure: no clock, no transport; the page calls `reset` when a
// feed (re)connects and `offer` for every frame.
//
// What the server guarantees (server pipeline, `PoseMerger::compose`): within one run of the
// server, a performer's `seq` goes up by one per frame (wrapping at 2^32) and its `captureUs`
// never goes backwards. A new run starts `seq` at 0 again.

/** The header fields the decision needs (`peekHeader` in wire.ts reads them without decoding). */
export interface FrameStamp {
  performer: number;
  seq: number;
  /** µs since the Unix epoch. */
  captureUs: number;
}

/** `newer`: after the newest in the same sequence space. `restart`: from a new sequence space
 * (another performer, or a server that restarted). `stale`: a late or repeated frame. */
export type Verdict = "newer" | "restart" | "stale";

/**
 * How far behind the newest a frame's `seq` may be and still count as late rather than as the
 * start of a new sequence space: 1024 frames, over 4 s even at 240 Hz. A frame on the unordered,
 * no-retransmission data channel is overtaken only by frames sent within the network's
 * reordering window (milliseconds, a handful of frames), and the WebSocket is ordered, so no late
 * frame is anywhere near this far behind. Smaller bounds the freeze when nothing else reveals a
 * restart (at most this many frames); a wrong `restart` verdict costs one stale frame shown for
 * one render frame, since the frames after it are `newer` again.
 */
export const RESTART_SEQ_GAP = 1024;

/** Signed distance from `b` to `a` in the wrapping 32-bit sequence space, in [-2^31, 2^31). */
export function seqDistance(a: number, b: number): number {
  return (a - b) | 0;
}

/** Decides how `frame` relates to `newest` (the newest frame accepted so far, if any). */
export function judge(newest: FrameStamp | undefined, frame: FrameStamp): Verdict {
  if (!newest || frame.performer !== newest.performer) return "restart";
  const ahead = seqDistance(frame.seq, newest.seq);
  if (ahead > 0) return "newer";
  // Not ahead: a late frame has an older (or equal) capture time and is near; anything else is a
  // new run of the server counting from 0 again.
  if (ahead < -RESTART_SEQ_GAP || frame.captureUs > newest.captureUs) return "restart";
  return "stale";
}

/**
 * The newest frame accepted so far. Guarantees: a frame is accepted iff `judge` does not call it
 * `stale`; after `reset` the next frame is accepted whatever its `seq`.
 */
export class Freshness {
  private newestStamp: FrameStamp | undefined;

  /** The newest accepted frame's stamp, if any since the last `reset`. */
  get newest(): FrameStamp | undefined {
    return this.newestStamp;
  }

  /** Forgets the newest frame: call when a feed (re)connects, since each feed session may be a
   * new sequence space. */
  reset(): void {
    this.newestStamp = undefined;
  }

  /** Returns the verdict and, unless the frame is `stale`, makes it the newest. */
  offer(frame: FrameStamp): Verdict {
    const verdict = judge(this.newestStamp, frame);
    if (verdict !== "stale") this.newestStamp = { performer: frame.performer, seq: frame.seq, captureUs: frame.captureUs };
    return verdict;
  }
}
