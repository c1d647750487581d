// Which frame expressions reach which avatar expressions (src/expressions.ts): perfect-sync
// avatars take ARKit channels in any spelling and not the presets; others take the presets.
import { describe, expect, it } from "vitest";
import { ExpressionTargets } from "../src/expressions";
import { EXPRESSIONS } from "../src/wire";

const FRAME = { blinkLeft: 0.8, happy: 0.5, aa: 0.3, eyeBlinkLeft: 0.8, mouthSmileLeft: 0.5, jawOpen: 0.3 };
const PRESETS = EXPRESSIONS.slice(0, 18);
/** A perfect-sync avatar as Unity exports them: the presets, then ARKit names capitalised. */
const PERFECT_SYNC = [...PRESETS, ...EXPRESSIONS.slice(18).map((n) => n[0].toUpperCase() + n.slice(1))];

describe("expression targets", () => {
  it("gives a preset-only avatar the presets it has", () => {
    const t = new ExpressionTargets(PRESETS);
    expect(t.perfectSync).toBe(false);
    expect(new Map(t.targets(FRAME))).toEqual(new Map([["blinkLeft", 0.8], ["happy", 0.5], ["aa", 0.3]]));
  });

  it("gives a perfect-sync avatar the ARKit channels in its own spelling, and no presets", () => {
    const t = new ExpressionTargets(PERFECT_SYNC);
    expect(t.perfectSync).toBe(true);
    expect(new Map(t.targets(FRAME))).toEqual(
      new Map([["EyeBlinkLeft", 0.8], ["MouthSmileLeft", 0.5], ["JawOpen", 0.3]]),
    );
    // A frame without ARKit channels (a VMC app sending presets only) still moves its presets.
    expect(new Map(t.targets({ blinkLeft: 1 }))).toEqual(new Map([["blinkLeft", 1]]));
  });
});
