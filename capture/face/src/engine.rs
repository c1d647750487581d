//! The default inference engine: `kagura-tflite`, Kagura's pure-Rust TFLite interpreter, behind
//! the [`Network`] trait. (Why not LiteRT, ONNX Runtime or tract: ARCHITECTURE.md, "Face".)

use kagura_tflite::{Interpreter, Model};

use crate::network::Network;

/// One loaded model and its working memory.
pub struct TfliteNetwork {
    interpreter: Interpreter<Box<Model>>,
    output_names: Vec<String>,
}

impl TfliteNetwork {
    /// Loads a `.tflite` model; `what` names it in errors.
    pub fn load(bytes: &[u8], what: &str) -> Result<Self, String> {
        let model = Model::from_bytes(bytes).map_err(|e| format!("{what}: {e}"))?;
        if model.input_count() != 1 {
            return Err(format!(
                "{what}: expected one input, found {}",
                model.input_count()
            ));
        }
        let output_names = model.output_names().map(str::to_string).collect();
        let interpreter = Interpreter::new(Box::new(model)).map_err(|e| format!("{what}: {e}"))?;
        Ok(TfliteNetwork {
            interpreter,
            output_names,
        })
    }

    /// The input tensor's shape (NHWC).
    pub fn input_shape(&self) -> &[usize] {
        self.interpreter.model().input_shape(0)
    }
}

impl Network for TfliteNetwork {
    fn input(&mut self) -> &mut [f32] {
        self.interpreter.input_mut(0)
    }

    fn run(&mut self) -> Result<(), String> {
        self.interpreter.invoke().map_err(|e| e.to_string())
    }

    fn output(&self, name: &str) -> Option<&[f32]> {
        let index = self.output_names.iter().position(|n| n == name)?;
        Some(self.interpreter.output(index))
    }
}
