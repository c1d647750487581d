//! The canonical face and head pose from landmarks.
//!
//! MediaPipe's face geometry metadata (`geometry_pipeline_metadata_landmarks.binarypb`, shipped
//! with the face mesh) holds the canonical face: 468 vertices in centimetres, +X toward the
//! face's own left (the right of the image when it faces the camera), +Y up, +Z out of the face,
//! and the 33 landmarks (with weights) that are rigid enough to fit a pose to. The head pose is
//! the similarity transform (scale, rotation, translation) that best maps those canonical
//! vertices onto the tracked landmarks, by weighted Procrustes.

use glam::{DMat3, DQuat, DVec3, Quat, Vec3};

/// Number of face mesh vertices (without the 10 iris points).
pub const MESH_POINTS: usize = 468;

/// Why the geometry metadata could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GeometryError {
    #[error("face geometry metadata: malformed protobuf at byte {0}")]
    Malformed(usize),
    #[error(
        "face geometry metadata: expected {MESH_POINTS} vertices of 5 floats, found {0} floats"
    )]
    VertexCount(usize),
    #[error("face geometry metadata: no usable landmark weights for the pose fit")]
    NoBasis,
}

/// The canonical face: vertex positions (cm) and the weighted landmarks for the pose fit.
#[derive(Clone, Debug)]
pub struct CanonicalFace {
    pub vertices: Vec<Vec3>,
    /// (landmark index, weight) pairs.
    pub basis: Vec<(usize, f32)>,
}

impl CanonicalFace {
    /// Reads `GeometryPipelineMetadata` (protobuf): field 1 `canonical_mesh` (a `Mesh3d` whose
    /// field 3 is `vertex_buffer`, 5 floats per vertex: x, y, z, u, v), field 2
    /// `procrustes_landmark_basis` (`landmark_id` = 1, `weight` = 2). Total on any bytes.
    pub fn from_metadata(bytes: &[u8]) -> Result<Self, GeometryError> {
        let mut floats = Vec::new();
        let mut basis = Vec::new();
        for field in ProtoFields::new(bytes) {
            match field? {
                (1, ProtoValue::Bytes(mesh)) => {
                    for field in ProtoFields::new(mesh) {
                        match field? {
                            (3, ProtoValue::Fixed32(v)) => floats.push(f32::from_bits(v)),
                            (3, ProtoValue::Bytes(packed)) => floats.extend(
                                packed
                                    .chunks_exact(4)
                                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                            ),
                            _ => {}
                        }
                        if floats.len() > MESH_POINTS * 5 {
                            return Err(GeometryError::VertexCount(floats.len()));
                        }
                    }
                }
                (2, ProtoValue::Bytes(reference)) => {
                    let (mut id, mut weight) = (None, None);
                    for field in ProtoFields::new(reference) {
                        match field? {
                            (1, ProtoValue::Varint(v)) => id = Some(v as usize),
                            (2, ProtoValue::Fixed32(v)) => weight = Some(f32::from_bits(v)),
                            _ => {}
                        }
                    }
                    if let (Some(id), Some(weight)) = (id, weight)
                        && id < MESH_POINTS
                        && weight.is_finite()
                        && weight > 0.0
                    {
                        basis.push((id, weight));
                    }
                }
                _ => {}
            }
        }
        if floats.len() != MESH_POINTS * 5 || floats.iter().any(|f| !f.is_finite()) {
            return Err(GeometryError::VertexCount(floats.len()));
        }
        if basis.len() < 3 {
            return Err(GeometryError::NoBasis);
        }
        let vertices = floats
            .chunks_exact(5)
            .map(|v| Vec3::new(v[0], v[1], v[2]))
            .collect();
        Ok(CanonicalFace { vertices, basis })
    }

    /// The similarity transform that maps the canonical face onto `points` (landmarks in a
    /// right-handed frame with +Y up and +Z toward the camera, any consistent unit), fitted by
    /// weighted Procrustes over the basis landmarks. `None` if the fit is degenerate.
    pub fn fit(&self, points: &[Vec3]) -> Option<FacePose> {
        let mut total = 0.0f64;
        let (mut mean_c, mut mean_p) = (DVec3::ZERO, DVec3::ZERO);
        for &(i, w) in &self.basis {
            let p = points.get(i)?.as_dvec3();
            mean_c += self.vertices[i].as_dvec3() * w as f64;
            mean_p += p * w as f64;
            total += w as f64;
        }
        mean_c /= total;
        mean_p /= total;
        // Cross-covariance H = Σ w (c - c̄)(p - p̄)ᵀ, and the canonical spread.
        let mut h = DMat3::ZERO;
        let mut spread = 0.0;
        for &(i, w) in &self.basis {
            let c = self.vertices[i].as_dvec3() - mean_c;
            let p = points[i].as_dvec3() - mean_p;
            let w = w as f64;
            h += DMat3::from_cols(c * p.x * w, c * p.y * w, c * p.z * w);
            spread += w * c.length_squared();
        }
        let rotation = best_rotation(h)?;
        // Scale that best maps the rotated canonical points onto the landmarks.
        let mut dot = 0.0;
        for &(i, w) in &self.basis {
            let c = rotation * (self.vertices[i].as_dvec3() - mean_c);
            dot += w as f64 * c.dot(points[i].as_dvec3() - mean_p);
        }
        let scale = dot / spread;
        if !(scale.is_finite() && scale > 0.0) {
            return None;
        }
        let translation = mean_p - rotation * mean_c * scale;
        Some(FacePose {
            rotation: rotation.as_quat().normalize(),
            scale: scale as f32,
            translation: translation.as_vec3(),
        })
    }
}

/// Where the canonical face sits: `point = translation + scale · rotation · canonical`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FacePose {
    pub rotation: Quat,
    /// Landmark units per canonical centimetre.
    pub scale: f32,
    pub translation: Vec3,
}

impl FacePose {
    /// A landmark in the face's own frame, canonical centimetres.
    pub fn to_face(&self, point: Vec3) -> Vec3 {
        self.rotation.inverse() * (point - self.translation) / self.scale
    }
}

/// The rotation R maximising trace(R H) with H = Σ c pᵀ (so that R c ≈ p), through the
/// quaternion form of the problem (Horn 1987): the eigenvector of the largest eigenvalue of a
/// symmetric 4×4 matrix, by power iteration on a shifted matrix. Always a proper rotation.
fn best_rotation(h: DMat3) -> Option<DQuat> {
    // h's columns are Σ c p_x, Σ c p_y, Σ c p_z: h.col(j)[i] = S_ij = Σ c_i p_j.
    let s = |i: usize, j: usize| h.col(j)[i];
    let (sxx, sxy, sxz) = (s(0, 0), s(0, 1), s(0, 2));
    let (syx, syy, syz) = (s(1, 0), s(1, 1), s(1, 2));
    let (szx, szy, szz) = (s(2, 0), s(2, 1), s(2, 2));
    let n = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let norm: f64 = n.iter().flatten().map(|v| v.abs()).sum();
    if !(norm.is_finite() && norm > 0.0) {
        return None;
    }
    // Shift so every eigenvalue is positive; then the power iteration finds the largest.
    let mut q = [1.0, 0.0, 0.0, 0.0];
    for _ in 0..200 {
        let mut next = [0.0; 4];
        for (r, row) in n.iter().enumerate() {
            next[r] = q[r] * norm + row.iter().zip(&q).map(|(a, b)| a * b).sum::<f64>();
        }
        let len = next.iter().map(|v| v * v).sum::<f64>().sqrt();
        let next = next.map(|v| v / len);
        let change: f64 = next.iter().zip(&q).map(|(a, b)| (a - b).abs()).sum();
        q = next;
        if change < 1e-13 {
            break;
        }
    }
    let quat = DQuat::from_xyzw(q[1], q[2], q[3], q[0]);
    quat.is_finite().then(|| quat.normalize())
}

/// A protobuf field value, as far as this reader needs.
enum ProtoValue<'a> {
    Varint(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

/// Iterates the top-level fields of a protobuf message; stops with an error on malformed input.
struct ProtoFields<'a> {
    bytes: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> ProtoFields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        ProtoFields {
            bytes,
            at: 0,
            failed: false,
        }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let bytes = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(bytes)
    }

    fn field(&mut self) -> Option<(u64, ProtoValue<'a>)> {
        let key = self.varint()?;
        let value = match key & 7 {
            0 => ProtoValue::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                ProtoValue::Varint(0)
            }
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                ProtoValue::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                ProtoValue::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            _ => return None,
        };
        Some((key >> 3, value))
    }
}

impl<'a> Iterator for ProtoFields<'a> {
    type Item = Result<(u64, ProtoValue<'a>), GeometryError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.bytes.len() {
            return None;
        }
        let start = self.at;
        match self.field() {
            Some(field) => Some(Ok(field)),
            None => {
                self.failed = true;
                Some(Err(GeometryError::Malformed(start)))
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::f32::consts::PI;

    /// A canonical face for tests: the real one when the models are extracted
    /// (`KAGURA_FACE_MODELS`), else a synthetic rigid point set.
    pub(crate) fn synthetic_face() -> CanonicalFace {
        let vertices: Vec<Vec3> = (0..MESH_POINTS)
            .map(|i| {
                let t = i as f32 * 0.37;
                Vec3::new(
                    7.0 * t.sin(),
                    9.0 * (t * 1.3).cos(),
                    3.0 * (t * 0.7).sin() + 2.0,
                )
            })
            .collect();
        let basis = (0..33).map(|i| (i * 13, 1.0 + (i % 3) as f32)).collect();
        CanonicalFace { vertices, basis }
    }

    #[test]
    fn the_fit_recovers_a_known_similarity_transform() {
        let face = synthetic_face();
        let rotation = Quat::from_euler(glam::EulerRot::YXZ, 0.4, -0.2, 0.3);
        let points: Vec<Vec3> = face
            .vertices
            .iter()
            .map(|v| Vec3::new(320.0, -240.0, -50.0) + 12.5 * (rotation * *v))
            .collect();
        let pose = face.fit(&points).unwrap();
        assert!(pose.rotation.angle_between(rotation) < 1e-4, "{pose:?}");
        assert!((pose.scale - 12.5).abs() < 1e-3);
        assert!((pose.translation - Vec3::new(320.0, -240.0, -50.0)).length() < 1e-2);
        let back = pose.to_face(points[40]);
        assert!((back - face.vertices[40]).length() < 1e-3);
    }

    #[test]
    fn a_half_turn_is_found_too() {
        let face = synthetic_face();
        let rotation = Quat::from_rotation_y(PI * 0.95);
        let points: Vec<Vec3> = face.vertices.iter().map(|v| rotation * *v).collect();
        let pose = face.fit(&points).unwrap();
        assert!(pose.rotation.angle_between(rotation) < 1e-3);
    }

    #[test]
    fn metadata_reader_is_total() {
        proptest::proptest!(|(bytes: Vec<u8>)| {
            let _ = CanonicalFace::from_metadata(&bytes);
        });
        assert!(CanonicalFace::from_metadata(&[]).is_err());
        assert_eq!(
            CanonicalFace::from_metadata(&[0x0a, 0xff]).unwrap_err(),
            GeometryError::Malformed(0)
        );
    }
}
