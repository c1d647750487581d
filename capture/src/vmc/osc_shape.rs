//! A cheap structural check run before handing bytes to rosc.
//!
//! rosc decodes nested bundles recursively and builds nested OSC arrays that drop recursively,
//! so a small datagram of `#bundle` headers or `[[[[…` type tags could exhaust the stack. This
//! walk bounds both depths without allocating; anything it cannot walk is left to rosc to
//! reject.

/// Deepest bundle nesting accepted. VMC apps nest one level (the VMC app's root bundle).
pub const MAX_BUNDLE_DEPTH: usize = 8;
/// Deepest OSC array nesting accepted. VMC uses no arrays.
pub const MAX_ARRAY_DEPTH: usize = 4;

/// Whether `bytes` nests bundles and arrays no deeper than the limits.
pub fn nesting_within_limits(bytes: &[u8]) -> bool {
    check(bytes, 0)
}

fn check(bytes: &[u8], depth: usize) -> bool {
    if depth > MAX_BUNDLE_DEPTH {
        return false;
    }
    if bytes.starts_with(b"#bundle\0") {
        // "#bundle\0", 8-byte time tag, then (u32 size, element) pairs.
        let mut rest = bytes.get(16..).unwrap_or_default();
        while rest.len() >= 4 {
            let size = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let Some(element) = rest.get(4..4 + size) else {
                return true; // malformed: rosc rejects it
            };
            if !check(element, depth + 1) {
                return false;
            }
            rest = &rest[4 + size..];
        }
        return true;
    }
    // A message: the address string, then the type-tag string starting with ','.
    let Some(address_end) = bytes.iter().position(|&b| b == 0) else {
        return true;
    };
    let tags_start = (address_end + 4) & !3;
    let tags = bytes.get(tags_start..).unwrap_or_default();
    let tags = &tags[..tags.iter().position(|&b| b == 0).unwrap_or(tags.len())];
    let mut array_depth = 0usize;
    for &tag in tags {
        match tag {
            b'[' => array_depth += 1,
            b']' => array_depth = array_depth.saturating_sub(1),
            _ => {}
        }
        if array_depth > MAX_ARRAY_DEPTH {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested_bundles(depth: usize) -> Vec<u8> {
        let mut packet = b"/VMC/Ext/OK\0,i\0\0\0\0\0\x01".to_vec();
        for _ in 0..depth {
            let mut outer = b"#bundle\0\0\0\0\0\0\0\0\x01".to_vec();
            outer.extend_from_slice(&(packet.len() as u32).to_be_bytes());
            outer.extend_from_slice(&packet);
            packet = outer;
        }
        packet
    }

    #[test]
    fn shallow_passes_deep_fails() {
        assert!(nesting_within_limits(&nested_bundles(2)));
        assert!(!nesting_within_limits(&nested_bundles(800)));
        assert!(nesting_within_limits(b"/a\0\0,[[f]]\0\0\0\0\0\0"));
        assert!(!nesting_within_limits(b"/a\0\0,[[[[[[[[[[\0\0"));
    }
}
