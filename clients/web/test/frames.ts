// Test frames in the wire format: a header and an empty body (no root, no hips, no bones, no
// expressions), which decodeFrame accepts; or a header with a body it rejects.

/** A valid frame with nothing in it but its header. */
export function emptyFrame(seq: number, captureUs: number, performer = 0): Uint8Array {
  // Body: 55 bone-mask bits (all absent) and two 2-bit expression group codes (none): 59 bits.
  const bytes = new Uint8Array(16 + 8);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, 1); // wire version
  view.setUint8(1, 0); // flags
  view.setUint16(2, performer, true);
  view.setUint32(4, seq >>> 0, true);
  view.setBigUint64(8, BigInt(captureUs), true);
  return bytes;
}

/** A frame whose header reads but whose body does not decode (bytes after its end). */
export function badBodyFrame(seq: number, captureUs: number): Uint8Array {
  const good = emptyFrame(seq, captureUs);
  const bytes = new Uint8Array(good.length + 4);
  bytes.set(good);
  bytes.fill(0xff, good.length);
  return bytes;
}
