//! Vertex data for skinned, vertex-coloured, flat-shaded boxes, and morph-target deltas on them.

use glam::Vec3;

/// A growing skinned triangle mesh.
#[derive(Default)]
pub struct Mesh {
    pub positions: Vec<Vec3>,
    pub normals: Vec<Vec3>,
    pub colors: Vec<[f32; 4]>,
    /// Joint index (into the skin's joint list) per vertex; each vertex follows one joint.
    pub joints: Vec<u16>,
    pub indices: Vec<u16>,
}

/// A contiguous run of vertices in a [`Mesh`] (one box).
#[derive(Clone, Copy)]
pub struct Part {
    pub first: usize,
    pub count: usize,
    pub center: Vec3,
    pub half: Vec3,
}

impl Mesh {
    /// Adds an axis-aligned box, flat-shaded (four vertices per face), bound to `joint`.
    pub fn add_box(&mut self, center: Vec3, half: Vec3, color: [f32; 4], joint: u16) -> Part {
        let first = self.positions.len();
        for axis in 0..3 {
            for sign in [-1.0f32, 1.0] {
                let mut normal = Vec3::ZERO;
                normal[axis] = sign;
                let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
                let base = self.positions.len() as u16;
                for (du, dv) in [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)] {
                    let mut offset = Vec3::ZERO;
                    offset[axis] = sign * half[axis];
                    offset[u] = du * half[u];
                    offset[v] = dv * half[v];
                    self.positions.push(center + offset);
                    self.normals.push(normal);
                    self.colors.push(color);
                    self.joints.push(joint);
                }
                // Counter-clockwise seen from outside.
                if sign > 0.0 {
                    self.indices
                        .extend([base, base + 1, base + 2, base, base + 2, base + 3]);
                } else {
                    self.indices
                        .extend([base, base + 2, base + 1, base, base + 3, base + 2]);
                }
            }
        }
        Part {
            first,
            count: self.positions.len() - first,
            center,
            half,
        }
    }

    /// Adds the box spanning segment `a`–`b` (axis-aligned bounds) thickened by `thickness` on
    /// the axes the segment does not run along.
    pub fn add_segment(
        &mut self,
        a: Vec3,
        b: Vec3,
        thickness: Vec3,
        color: [f32; 4],
        joint: u16,
    ) -> Part {
        let min = a.min(b) - thickness;
        let max = a.max(b) + thickness;
        self.add_box((min + max) / 2.0, (max - min) / 2.0, color, joint)
    }
}

/// Position deltas for one morph target over a whole mesh.
pub struct MorphTarget {
    pub deltas: Vec<Vec3>,
}

impl MorphTarget {
    pub fn new(vertices: usize) -> Self {
        MorphTarget {
            deltas: vec![Vec3::ZERO; vertices],
        }
    }

    /// Moves each vertex of `part` by `f(vertex position relative to the part's centre, as a
    /// fraction of its half extents in -1..=1)`, in metres.
    pub fn deform(&mut self, mesh: &Mesh, part: Part, f: impl Fn(Vec3) -> Vec3) -> &mut Self {
        for i in part.first..part.first + part.count {
            let relative = (mesh.positions[i] - part.center) / part.half;
            self.deltas[i] += f(relative);
        }
        self
    }
}
