//! Adam on a handful of `f64` parameters, for strategies whose own parameters (uncertainty's
//! log-variances, GradNorm's weights) have closed-form gradients: no tensors, no graph, and
//! an update a test can recompute by hand.

/// Adam (Kingma & Ba 2015) with PyTorch's defaults β = (0.9, 0.999), ε = 1e-8.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ScalarAdam {
    lr: f64,
    t: i32,
    m: Vec<f64>,
    v: Vec<f64>,
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPSILON: f64 = 1e-8;

impl ScalarAdam {
    /// Adam for `n` parameters with learning rate `lr`.
    pub fn new(n: usize, lr: f64) -> Self {
        Self {
            lr,
            t: 0,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// One descent step of `params` along `grads`.
    pub fn step(&mut self, params: &mut [f64], grads: &[f64]) {
        self.t += 1;
        let (c1, c2) = (1.0 - BETA1.powi(self.t), 1.0 - BETA2.powi(self.t));
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            self.m[i] = BETA1 * self.m[i] + (1.0 - BETA1) * g;
            self.v[i] = BETA2 * self.v[i] + (1.0 - BETA2) * g * g;
            *p -= self.lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + EPSILON);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_parameter_by_lr_against_its_gradient_sign() {
        let mut adam = ScalarAdam::new(3, 0.1);
        let mut p = [1.0, 1.0, 1.0];
        adam.step(&mut p, &[2.0, -0.5, 0.0]);
        // m̂ = g, v̂ = g²: the step is lr · g / (|g| + ε).
        assert!((p[0] - 0.9).abs() < 1e-7 && (p[1] - 1.1).abs() < 1e-7 && p[2] == 1.0);
        // Second step (g = 1 after g = 2), moments by hand.
        adam.step(&mut p, &[1.0, -0.5, 0.0]);
        let m = 0.9 * 0.2 + 0.1 * 1.0; // 0.28
        let v = 0.999 * 0.004 + 0.001 * 1.0; // 0.004996
        let step = 0.1 * (m / (1.0 - 0.81)) / ((v / (1.0 - 0.999f64.powi(2))).sqrt() + 1e-8);
        let first = 1.0 - 0.1 * 2.0 / (2.0 + 1e-8);
        assert!((p[0] - (first - step)).abs() < 1e-12, "{}", p[0]);
    }
}
