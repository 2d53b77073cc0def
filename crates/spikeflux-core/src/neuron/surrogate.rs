//! The surrogate derivative of the spike (spec §1.2): SuperSpike, the derivative of a fast sigmoid.

/// The surrogate derivative used for `∂S/∂U` in the backward pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Surrogate {
    /// SuperSpike (fast-sigmoid derivative): `1 / (β·|U − 1| + 1)²`, peak 1 (spec §1.2).
    SuperSpike {
        /// Steepness β (dimensionless); the reference uses 20.
        beta: f32,
    },
}

impl Default for Surrogate {
    fn default() -> Self {
        Surrogate::SuperSpike { beta: 20.0 }
    }
}

impl Surrogate {
    /// The surrogate derivative at `x = U − 1`.
    #[inline(always)]
    pub fn grad(&self, x: f32) -> f32 {
        match *self {
            Surrogate::SuperSpike { beta } => {
                let d = beta * x.abs() + 1.0;
                1.0 / (d * d)
            }
        }
    }
    /// The primitive of the surrogate (`x / (β|x| + 1)`), used by the smooth forward mode so that the
    /// surrogate gradient is the exact gradient of the smooth network.
    #[inline(always)]
    pub fn primitive(&self, x: f32) -> f32 {
        match *self {
            Surrogate::SuperSpike { beta } => x / (beta * x.abs() + 1.0),
        }
    }
}

