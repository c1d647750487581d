//! Fused activations: what a convolution or addition applies to its output before storing it.

/// A fused activation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Act {
    None,
    Relu,
    ReluN1To1,
    Relu6,
}

impl Act {
    #[inline(always)]
    pub(crate) fn apply(self, v: f32) -> f32 {
        match self {
            Act::None => v,
            Act::Relu => v.max(0.0),
            Act::ReluN1To1 => v.clamp(-1.0, 1.0),
            Act::Relu6 => v.clamp(0.0, 6.0),
        }
    }

    /// Applies the activation to every value (one branch per slice).
    #[inline(always)]
    pub(crate) fn apply_slice(self, v: &mut [f32]) {
        match self {
            Act::None => {}
            Act::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
            Act::ReluN1To1 => v.iter_mut().for_each(|x| *x = x.clamp(-1.0, 1.0)),
            Act::Relu6 => v.iter_mut().for_each(|x| *x = x.clamp(0.0, 6.0)),
        }
    }
}
