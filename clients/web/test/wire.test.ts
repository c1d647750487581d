// Checks the TypeScript decoder against the Rust encoder and decoder. The vectors are written by
// the Rust test tests/tests/web_wire_decoder.rs, which runs the suite with KAGURA_WIRE_VECTORS
// set to their path and checks that these three tests passed: no constant here is copied from
// the Rust side. Run alone (`npm test`), without vectors, they are skipped and say why.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BONES, EXPRESSIONS, WireError, decodeFrame } from "../src/wire";

interface ExpectedFrame {
  performer: number;
  seq: number;
  capture_us: number;
  root: { position: number[]; rotation: number[] } | null;
  hips_position: number[] | null;
  bones: Record<string, number[]>;
  expressions: Record<string, number>;
}

interface Vectors {
  bones: string[];
  expressions: string[];
  frames: { hex: string; decoded: ExpectedFrame }[];
  invalid: { hex: string; why: string }[];
}

const path = process.env.KAGURA_WIRE_VECTORS;
const vectors: Vectors = path ? JSON.parse(readFileSync(path, "utf8")) : { bones: [], expressions: [], frames: [], invalid: [] };
const bytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
// Rust computes in f32 and TypeScript in f64: allow f32 rounding, relative to the magnitude.
const close = (a: number[], b: number[], tolerance: number) =>
  a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tolerance * (1 + Math.abs(b[i])));

const title = path
  ? "wire format v1"
  : "wire format v1 (skipped: KAGURA_WIRE_VECTORS is not set; `cargo test -p kagura-tests --test web_wire_decoder` runs these)";

describe.skipIf(!path)(title, () => {
  it("names bones and expressions as the Rust crate does, in the same order", () => {
    expect([...BONES]).toEqual(vectors.bones);
    expect([...EXPRESSIONS]).toEqual(vectors.expressions);
  });

  it(`decodes ${vectors.frames.length} Rust-encoded frames as the Rust decoder does`, () => {
    expect(vectors.frames.length).toBeGreaterThan(10);
    for (const { hex, decoded: want } of vectors.frames) {
      const got = decodeFrame(bytes(hex));
      expect([got.performer, got.seq, got.captureUs]).toEqual([want.performer, want.seq, want.capture_us]);
      expect(Object.keys(got.bones).sort()).toEqual(Object.keys(want.bones).sort());
      for (const [bone, q] of Object.entries(want.bones)) {
        expect(close(got.bones[bone], q, 1e-6), `${bone}: ${got.bones[bone]} vs ${q}`).toBe(true);
      }
      expect(Object.keys(got.expressions).sort()).toEqual(Object.keys(want.expressions).sort());
      for (const [name, w] of Object.entries(want.expressions)) {
        expect(Math.abs(got.expressions[name] - w)).toBeLessThanOrEqual(1e-6);
      }
      expect(got.hipsPosition === undefined).toBe(want.hips_position === null);
      if (want.hips_position) expect(close(got.hipsPosition!, want.hips_position, 1e-6)).toBe(true);
      expect(got.root === undefined).toBe(want.root === null);
      if (want.root) {
        expect(close(got.root!.position, want.root.position, 1e-6)).toBe(true);
        expect(close(got.root!.rotation, want.root.rotation, 1e-6)).toBe(true);
      }
    }
  });

  it("rejects what the Rust decoder rejects", () => {
    expect(vectors.invalid.length).toBeGreaterThan(3);
    for (const { hex, why } of vectors.invalid) {
      expect(() => decodeFrame(bytes(hex)), why).toThrow(WireError);
    }
  });
});
