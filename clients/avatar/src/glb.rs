//! A minimal glTF 2.0 binary (GLB) writer: one buffer, tightly packed buffer views, accessors.

use serde_json::{Value, json};

/// Component types and targets from the glTF 2.0 specification.
pub const FLOAT: u32 = 5126;
pub const UNSIGNED_SHORT: u32 = 5123;
pub const ARRAY_BUFFER: u32 = 34962;
pub const ELEMENT_ARRAY_BUFFER: u32 = 34963;

/// Accumulates binary data and the JSON that describes it.
#[derive(Default)]
pub struct GlbBuilder {
    bin: Vec<u8>,
    buffer_views: Vec<Value>,
    accessors: Vec<Value>,
}

impl GlbBuilder {
    /// Adds float data (`components` per element: 1, 3, 4 or 16) and returns the accessor index.
    /// `with_bounds` adds min/max, which glTF requires on POSITION accessors.
    pub fn floats(
        &mut self,
        data: &[f32],
        kind: &str,
        target: Option<u32>,
        with_bounds: bool,
    ) -> usize {
        let components = components(kind);
        let bytes: Vec<u8> = data.iter().flat_map(|f| f.to_le_bytes()).collect();
        let view = self.view(&bytes, target);
        let mut accessor = json!({
            "bufferView": view,
            "componentType": FLOAT,
            "count": data.len() / components,
            "type": kind,
        });
        if with_bounds {
            let mut min = vec![f32::INFINITY; components];
            let mut max = vec![f32::NEG_INFINITY; components];
            for chunk in data.chunks(components) {
                for (i, v) in chunk.iter().enumerate() {
                    min[i] = min[i].min(*v);
                    max[i] = max[i].max(*v);
                }
            }
            accessor["min"] = json!(min);
            accessor["max"] = json!(max);
        }
        self.accessors.push(accessor);
        self.accessors.len() - 1
    }

    /// Adds u16 data (indices, or JOINTS_0 as VEC4) and returns the accessor index.
    pub fn u16s(&mut self, data: &[u16], kind: &str, target: Option<u32>) -> usize {
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = self.view(&bytes, target);
        self.accessors.push(json!({
            "bufferView": view,
            "componentType": UNSIGNED_SHORT,
            "count": data.len() / components(kind),
            "type": kind,
        }));
        self.accessors.len() - 1
    }

    fn view(&mut self, bytes: &[u8], target: Option<u32>) -> usize {
        while !self.bin.len().is_multiple_of(4) {
            self.bin.push(0);
        }
        let mut view =
            json!({ "buffer": 0, "byteOffset": self.bin.len(), "byteLength": bytes.len() });
        if let Some(target) = target {
            view["target"] = json!(target);
        }
        self.bin.extend_from_slice(bytes);
        self.buffer_views.push(view);
        self.buffer_views.len() - 1
    }

    /// Completes `document` (which holds everything but buffers, bufferViews and accessors)
    /// and writes the GLB container.
    pub fn finish(mut self, mut document: Value) -> Vec<u8> {
        while !self.bin.len().is_multiple_of(4) {
            self.bin.push(0);
        }
        document["buffers"] = json!([{ "byteLength": self.bin.len() }]);
        document["bufferViews"] = Value::Array(self.buffer_views);
        document["accessors"] = Value::Array(self.accessors);
        let mut json = serde_json::to_vec(&document).expect("JSON values always serialize");
        while !json.len().is_multiple_of(4) {
            json.push(b' ');
        }
        let total = 12 + 8 + json.len() + 8 + self.bin.len();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(b"glTF");
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(b"JSON");
        out.extend_from_slice(&json);
        out.extend_from_slice(&(self.bin.len() as u32).to_le_bytes());
        out.extend_from_slice(b"BIN\0");
        out.extend_from_slice(&self.bin);
        out
    }
}

fn components(kind: &str) -> usize {
    match kind {
        "SCALAR" => 1,
        "VEC2" => 2,
        "VEC3" => 3,
        "VEC4" => 4,
        "MAT4" => 16,
        other => panic!("unsupported accessor type {other}"),
    }
}

/// Splits a GLB file into its JSON document and binary chunk.
pub fn parse_glb(bytes: &[u8]) -> Option<(Value, &[u8])> {
    let u32_at =
        |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize);
    if bytes.get(..4)? != b"glTF" || u32_at(8)? != bytes.len() {
        return None;
    }
    let json_len = u32_at(12)?;
    let json: Value = serde_json::from_slice(bytes.get(20..20 + json_len)?).ok()?;
    let bin_len = u32_at(20 + json_len)?;
    let bin = bytes.get(28 + json_len..28 + json_len + bin_len)?;
    Some((json, bin))
}
