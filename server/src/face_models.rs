//! The MediaPipe face models, built into the binary: `server/build.rs` cuts them out of npm's
//! `@mediapipe/face_mesh` package (installed by `npm ci` with the page) and checks their SHA-256.
//! Nothing is fetched at run time. A directory holding the same files can be given instead
//! (`models = "DIR"` in a webcam source, `kagura face --models DIR`).

use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/face_models.rs"));

/// The model files, by role.
#[derive(Clone, Debug)]
pub struct FaceModelFiles {
    /// `face_detection_short_range.tflite`
    pub detector: Vec<u8>,
    /// `face_landmark_with_attention.tflite` (478 points with irises)
    pub mesh_with_irises: Vec<u8>,
    /// `face_landmark.tflite` (468 points)
    pub mesh: Vec<u8>,
    /// `geometry_pipeline_metadata_landmarks.binarypb` (the canonical face)
    pub geometry: Vec<u8>,
}

/// What to do when the models are not there.
const FIX: &str = "install Node.js and npm and build Kagura again (server/build.rs runs `npm ci` \
                   in clients/web, which brings @mediapipe/face_mesh), or point `models` at a \
                   directory holding the four files";

impl FaceModelFiles {
    /// The models built into this binary.
    pub fn embedded() -> Result<Self, String> {
        let files = FACE_MODEL_FILES.map_err(|reason| {
            format!("the face models are not built into this binary ({reason}): {FIX}")
        })?;
        Self::from_lookup(|name| {
            files
                .iter()
                .find(|(file, _)| *file == name)
                .map(|(_, bytes)| bytes.to_vec())
                .ok_or_else(|| format!("{name} is not built in"))
        })
    }

    /// One built-in model file by name.
    pub fn embedded_file(name: &str) -> Result<Vec<u8>, String> {
        let files = FACE_MODEL_FILES.map_err(|reason| {
            format!("the face models are not built into this binary ({reason}): {FIX}")
        })?;
        files
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, bytes)| bytes.to_vec())
            .ok_or_else(|| format!("{name} is not one of the built-in face models"))
    }

    /// The models from a directory.
    pub fn from_dir(dir: &Path) -> Result<Self, String> {
        Self::from_lookup(|name| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| format!("{}: {e}; {FIX}", path.display()))
        })
    }

    fn from_lookup(get: impl Fn(&str) -> Result<Vec<u8>, String>) -> Result<Self, String> {
        Ok(FaceModelFiles {
            detector: get("face_detection_short_range.tflite")?,
            mesh_with_irises: get("face_landmark_with_attention.tflite")?,
            mesh: get("face_landmark.tflite")?,
            geometry: get("geometry_pipeline_metadata_landmarks.binarypb")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_are_built_in_or_the_error_names_the_fix() {
        match FaceModelFiles::embedded() {
            Ok(models) => {
                assert_eq!(models.detector.len(), 229_032);
                assert!(
                    models.mesh_with_irises.starts_with(&[0x1c, 0, 0, 0])
                        || models.mesh_with_irises.len() > 1_000_000
                );
                let face = kagura_face::CanonicalFace::from_metadata(&models.geometry).unwrap();
                assert_eq!(face.vertices.len(), 468);
                // The nose tip sticks out of the face, toward +Z.
                assert!(face.vertices[1].z > face.vertices[33].z);
                // The face's right eye (landmark 33) is on its right: -X.
                assert!(face.vertices[33].x < 0.0 && face.vertices[263].x > 0.0);
            }
            Err(e) => assert!(e.contains("npm ci"), "{e}"),
        }
        let missing = FaceModelFiles::from_dir(Path::new("/nonexistent")).unwrap_err();
        assert!(
            missing.contains("face_detection_short_range.tflite") && missing.contains("npm ci"),
            "{missing}"
        );
    }
}
