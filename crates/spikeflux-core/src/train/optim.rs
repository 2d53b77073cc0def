//! Optimizers over the flat parameter vector (spec §3.3).
//!
//! SMORMS3 (stork's, every paper example; lr 5e-3, ε = 1e-16), per parameter with state
//! mem = 1, g = 0, g2 = 0:
//!
//! ```text
//! r = 1/(mem+1);  g ← (1−r)g + r·grad;  g2 ← (1−r)g2 + r·grad²;  q = g²/(g2+ε)
//! mem ← mem·(1−q) + 1;  p ← p − min(q, lr)·grad/(√g2 + ε)
//! ```
//!
//! Adam: the usual bias-corrected form with β = (0.9, 0.999), ε = 1e-8.

/// An optimizer by name, as configs write it: `"smorms3"`, `"adam"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerMethod {
    /// SMORMS3 (the reference's).
    #[default]
    Smorms3,
    /// Adam.
    Adam,
}

impl OptimizerMethod {
    /// This optimizer with learning rate `lr`.
    pub fn with_lr(self, lr: f32) -> OptimizerKind {
        match self {
            OptimizerMethod::Smorms3 => OptimizerKind::Smorms3 { lr },
            OptimizerMethod::Adam => OptimizerKind::Adam { lr },
        }
    }
}

/// Which optimizer and its learning rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerKind {
    /// SMORMS3 with learning rate `lr`.
    Smorms3 {
        /// Learning rate (upper bound of the per-parameter step factor).
        lr: f32,
    },
    /// Adam with learning rate `lr`.
    Adam {
        /// Learning rate.
        lr: f32,
    },
}

/// Optimizer state for `n` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    kind: OptimizerKind,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    step: u64,
}

impl Optimizer {
    /// Fresh state for `n` parameters.
    pub fn new(kind: OptimizerKind, n: usize) -> Self {
        let mem0 = match kind {
            OptimizerKind::Smorms3 { .. } => 1.0,
            OptimizerKind::Adam { .. } => 0.0,
        };
        Optimizer { kind, a: vec![mem0; n], b: vec![0.0; n], c: vec![0.0; n], step: 0 }
    }

    /// The optimizer's kind.
    pub fn kind(&self) -> OptimizerKind {
        self.kind
    }

    /// State as three flat vectors and the step count (for checkpoints).
    pub fn state(&self) -> (&[f32], &[f32], &[f32], u64) {
        (&self.a, &self.b, &self.c, self.step)
    }

    /// Restores state saved by [`Optimizer::state`]; returns false if the sizes do not match.
    pub fn set_state(&mut self, a: &[f32], b: &[f32], c: &[f32], step: u64) -> bool {
        if a.len() != self.a.len() || b.len() != self.b.len() || c.len() != self.c.len() {
            return false;
        }
        self.a.copy_from_slice(a);
        self.b.copy_from_slice(b);
        self.c.copy_from_slice(c);
        self.step = step;
        true
    }

    /// One update of `params` with gradient `grad`.
    pub fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        self.step += 1;
        match self.kind {
            OptimizerKind::Smorms3 { lr } => {
                let eps = 1e-16f32;
                for i in 0..params.len() {
                    let gr = grad[i];
                    let (mem, g, g2) = (&mut self.a[i], &mut self.b[i], &mut self.c[i]);
                    let r = 1.0 / (*mem + 1.0);
                    *g = (1.0 - r) * *g + r * gr;
                    *g2 = (1.0 - r) * *g2 + r * gr * gr;
                    let q = *g * *g / (*g2 + eps);
                    *mem = *mem * (1.0 - q) + 1.0;
                    params[i] -= q.min(lr) * gr / (g2.sqrt() + eps);
                }
            }
            OptimizerKind::Adam { lr } => {
                let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
                let c1 = 1.0 - b1.powi(self.step as i32);
                let c2 = 1.0 - b2.powi(self.step as i32);
                for i in 0..params.len() {
                    let gr = grad[i];
                    let (m, v) = (&mut self.b[i], &mut self.c[i]);
                    *m = b1 * *m + (1.0 - b1) * gr;
                    *v = b2 * *v + (1.0 - b2) * gr * gr;
                    params[i] -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed first two SMORMS3 steps for one parameter.
    #[test]
    fn smorms3_first_steps() {
        let mut o = Optimizer::new(OptimizerKind::Smorms3 { lr: 5e-3 }, 1);
        let mut p = [1.0f32];
        o.step(&mut p, &[2.0]);
        // r = 1/2: g = 1, g2 = 2, q = 0.5, mem = 1.5, step = min(0.5, 5e-3)·2/√2
        assert!((p[0] - (1.0 - 5e-3 * 2.0 / 2f32.sqrt())).abs() < 1e-7);
        o.step(&mut p, &[-1.0]);
        // r = 1/2.5 = 0.4: g = 0.6·1 − 0.4 = 0.2, g2 = 0.6·2 + 0.4 = 1.6, q = 0.025
        let expected = 1.0 - 5e-3 * 2.0 / 2f32.sqrt() + 5e-3 / 1.6f32.sqrt();
        assert!((p[0] - expected).abs() < 1e-7, "{} vs {expected}", p[0]);
    }

    #[test]
    fn adam_moves_against_gradient_by_lr() {
        let mut o = Optimizer::new(OptimizerKind::Adam { lr: 1e-3 }, 2);
        let mut p = [0.0f32, 0.0];
        o.step(&mut p, &[3.0, -0.5]);
        assert!((p[0] + 1e-3).abs() < 1e-6 && (p[1] - 1e-3).abs() < 1e-6);
    }
}
