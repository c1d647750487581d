//! [`Network`]: what the face pipeline needs of an inference engine.

/// Runs one model: fill its input (NHWC f32), run, read outputs by the model's output names.
pub trait Network: Send {
    fn input(&mut self) -> &mut [f32];
    fn run(&mut self) -> Result<(), String>;
    fn output(&self, name: &str) -> Option<&[f32]>;
}
