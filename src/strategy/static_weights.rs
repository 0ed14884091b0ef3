//! `static`: fixed weights w1 and 1 − w1, the grid of the paper's Figure 2.

use serde::{Deserialize, Serialize};

use super::{constant_objective, Objective, SettingsError, StepContext, Strategy};

/// `w1:` of a static strategy: a list of values or an inclusive `{from, to, step}` grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum W1Spec {
    /// Explicit values, e.g. `[0.2, 0.5]`.
    List(Vec<f64>),
    /// A single value, e.g. `0.5`.
    One(f64),
    /// An inclusive grid.
    Grid(Grid),
}

/// An inclusive grid `from, from + step, …, to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// First value.
    pub from: f64,
    /// Last value (included).
    pub to: f64,
    /// Spacing, > 0.
    pub step: f64,
}

/// Decimal places kept for w1: grid values are rounded to them so that 0.1 · 3 is 0.3, not
/// 0.30000000000000004, in ids, logs and plots.
const W1_DECIMALS: i32 = 10;

/// Round `x` to [`W1_DECIMALS`] places.
pub fn round_w1(x: f64) -> f64 {
    let scale = 10f64.powi(W1_DECIMALS);
    (x * scale).round() / scale
}

/// `w1` as written in run ids, tables and plots: always with a decimal point (`0.0`, `0.3`, `1.0`).
pub fn format_w1(w1: f64) -> String {
    if w1.fract() == 0.0 {
        format!("{w1:.1}")
    } else {
        format!("{w1}")
    }
}

impl Grid {
    /// Number of points, or `None` when `(to − from) / step` is not (nearly) a whole number.
    pub fn count(&self) -> Option<usize> {
        let n = (self.to - self.from) / self.step;
        let whole = n.round();
        ((n - whole).abs() < 1e-9 && whole >= 0.0).then(|| whole as usize + 1)
    }
}

impl W1Spec {
    /// The w1 values, rounded (see [`round_w1`]). Computed as `from + k · step`, never by
    /// repeated addition, so errors do not accumulate.
    pub fn values(&self) -> Vec<f64> {
        match self {
            W1Spec::List(v) => v.iter().map(|x| round_w1(*x)).collect(),
            W1Spec::One(x) => vec![round_w1(*x)],
            W1Spec::Grid(g) => (0..g.count().unwrap_or(0))
                .map(|k| round_w1(g.from + k as f64 * g.step))
                .collect(),
        }
    }
}

impl W1Spec {
    /// A grid that divides evenly and values in [0, 1]; fields are relative to the entry.
    pub fn check(&self) -> Result<(), SettingsError> {
        if let W1Spec::Grid(g) = self {
            SettingsError::positive(g.step, "w1.step")?;
            SettingsError::ensure(
                g.from <= g.to,
                "w1.from",
                format!("from ({}) must be ≤ to ({})", g.from, g.to),
            )?;
            SettingsError::ensure(
                g.count().is_some(),
                "w1.step",
                format!(
                    "the range {}..{} is not divisible by step {}",
                    g.from, g.to, g.step
                ),
            )?;
        }
        let values = self.values();
        SettingsError::ensure(!values.is_empty(), "w1", "needs at least one value")?;
        for v in values {
            SettingsError::ensure(
                (0.0..=1.0).contains(&v),
                "w1",
                format!("w1 must be in [0, 1] (got {v})"),
            )?;
        }
        Ok(())
    }
}

/// Fixed task weights; the weight unit is never used, so it never changes.
#[derive(Debug, Clone)]
pub struct StaticWeights {
    w1: f64,
}

impl StaticWeights {
    /// Weights (w1, 1 − w1).
    pub fn new(w1: f64) -> Self {
        Self { w1 }
    }
}

impl Strategy for StaticWeights {
    fn unit_lr(&self) -> Option<f64> {
        None
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        constant_objective([self.w1, 1.0 - self.w1], &ctx.losses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_gives_exact_decimal_values() {
        let g = W1Spec::Grid(Grid {
            from: 0.0,
            to: 1.0,
            step: 0.1,
        });
        let v = g.values();
        assert_eq!(v.len(), 11);
        for (k, x) in v.iter().enumerate() {
            assert_eq!(format!("{x}"), format!("{}", k as f64 / 10.0));
        }
        assert_eq!(v[3], 0.3);
        assert_eq!(format_w1(v[0]), "0.0");
        assert_eq!(format_w1(v[3]), "0.3");
        assert_eq!(format_w1(v[10]), "1.0");
        assert!(Grid {
            from: 0.0,
            to: 1.0,
            step: 0.3
        }
        .count()
        .is_none());
    }
}
