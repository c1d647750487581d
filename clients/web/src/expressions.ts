// Which of a frame's expressions go to which of the avatar's expressions.
//
// Frames carry VRM 1.0 presets (some derived on the server from ARKit channels) and ARKit's 52
// channels as tracked. An avatar with perfect-sync expressions (named as ARKit names them, in any
// case: `eyeBlinkLeft`, `EyeBlinkLeft`) gets the ARKit channels straight through, and then not
// the presets of a frame that carries ARKit channels (a blink or a smile would be applied
// twice). Any other avatar gets the presets it has.

import { EXPRESSIONS } from "./wire";

/** The first 18 names on the wire are VRM 1.0 presets; ARKit's 52 follow. */
const ARKIT = new Set(EXPRESSIONS.slice(18).map((n) => n.toLowerCase()));
/** An avatar with at least this many ARKit-named expressions counts as perfect sync. */
const PERFECT_SYNC_MIN = 10;

/** A frame expression name → the avatar's own expression name, for one avatar. */
export class ExpressionTargets {
  private readonly byLower = new Map<string, string>();
  readonly perfectSync: boolean;

  constructor(avatarExpressionNames: readonly string[]) {
    for (const name of avatarExpressionNames) {
      if (!this.byLower.has(name.toLowerCase())) this.byLower.set(name.toLowerCase(), name);
    }
    let arkit = 0;
    for (const lower of this.byLower.keys()) if (ARKIT.has(lower)) arkit++;
    this.perfectSync = arkit >= PERFECT_SYNC_MIN;
  }

  /** The (avatar expression, weight) pairs to set for a frame's expressions. */
  targets(frame: Record<string, number>): [string, number][] {
    const hasArkit = Object.keys(frame).some((n) => ARKIT.has(n.toLowerCase()));
    const skipPresets = this.perfectSync && hasArkit;
    const out: [string, number][] = [];
    for (const [name, weight] of Object.entries(frame)) {
      const lower = name.toLowerCase();
      if (skipPresets && !ARKIT.has(lower)) continue;
      const target = this.byLower.get(lower);
      if (target !== undefined) out.push([target, weight]);
    }
    return out;
  }
}
