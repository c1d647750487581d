// The page's one-frame mailbox: arriving frames are judged by their header alone and only the
// newest one's bytes are kept; the frame is decoded once, on the animation frame that applies it.
// A burst of frames between two animation frames costs one header read each and one decode.
// Pure: times are arguments, decoding and applying are functions handed in.

import { Freshness, type Verdict } from "./freshness";
import { type PoseFrame, decodeFrame, peekHeader } from "./wire";

/** One applied frame's times, µs on the server's clock (the `window.kagura.timings()` entries). */
export interface Timing {
  seq: number;
  captureUs: number;
  arrivalUs: number;
  appliedUs?: number;
}

interface Pending {
  bytes: Uint8Array;
  timing: Timing;
}

/**
 * Holds the newest frame not yet applied. Guarantees: `arrive` never decodes a frame body and
 * never queues (a newer frame replaces the pending one, whose bytes are let go); `applyNewest`
 * decodes at most one frame per call, and the same frame never twice.
 */
export class LatestFrame {
  private readonly freshness = new Freshness();
  private pending: Pending | undefined;
  /** Frames accepted as the newest (not stale, header readable). */
  framesReceived = 0;
  /** Frames whose header or body could not be read. */
  badFrames = 0;
  /** Frames dropped as older than one already accepted. */
  staleFrames = 0;
  /** Frames replaced by a newer one before an animation frame applied them. */
  skippedFrames = 0;
  /** The newest accepted frame's seq and capture time; kept across `newSession`. */
  newestSeq: number | null = null;
  newestCaptureUs: number | null = null;

  constructor(private readonly decode: (bytes: Uint8Array) => PoseFrame = decodeFrame) {}

  /** A feed (re)connected: its frames may number from 0 again, so the next frame is accepted
   * whatever its seq. A pending frame stays pending (it is still the newest pose there is). */
  newSession(): void {
    this.freshness.reset();
  }

  /** Takes an arriving message, reading only its 16-byte header; keeps a reference to `bytes`
   * (no copy) if it is the newest. */
  arrive(bytes: Uint8Array, arrivalUs: number): Verdict | "bad" {
    let header;
    try {
      header = peekHeader(bytes);
    } catch {
      this.badFrames++;
      return "bad";
    }
    const verdict = this.freshness.offer(header);
    if (verdict === "stale") {
      this.staleFrames++;
      return verdict;
    }
    if (this.pending) this.skippedFrames++;
    this.pending = { bytes, timing: { seq: header.seq, captureUs: header.captureUs, arrivalUs } };
    this.framesReceived++;
    this.newestSeq = header.seq;
    this.newestCaptureUs = header.captureUs;
    return verdict;
  }

  /** Whether a frame is waiting to be applied. */
  get hasPending(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Decodes the pending frame, if any, hands it to `apply`, and returns its timing with
   * `appliedUs` set to `nowUs()` read after `apply` returned. A frame that does not decode is
   * counted in `badFrames` and dropped. Either way the pending frame is gone afterwards.
   */
  applyNewest(apply: (frame: PoseFrame) => void, nowUs: () => number): Timing | undefined {
    const pending = this.pending;
    if (!pending) return undefined;
    this.pending = undefined;
    let frame;
    try {
      frame = this.decode(pending.bytes);
    } catch {
      this.badFrames++;
      return undefined;
    }
    apply(frame);
    pending.timing.appliedUs = nowUs();
    return pending.timing;
  }
}
