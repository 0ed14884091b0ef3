//! `static`: fixed task weights on the simplex. For two tasks `w1` and 1 − w1, the grid of
//! the paper's Figure 2; for any number, every composition of the weights on a `step` (0.1
//! gives 66 points for three tasks) or explicit points.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{constant_objective, Objective, SettingsError, StepContext, Strategy};
use crate::task::Tasks;

/// `w1:` of a two-task static strategy: a list of values or an inclusive `{from, to, step}` grid.
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

/// One explicit point of `points:`: the weights in task order, or by task name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WeightsSpec {
    /// `[0.2, 0.3, 0.5]`, in the order of `tasks:`.
    List(Vec<f64>),
    /// `{ fv: 0.2, ex: 0.3, pose: 0.5 }`, every task named once.
    Named(BTreeMap<String, f64>),
}

/// The entry `static: {...}`: exactly one of `w1` (two tasks), `step` (the simplex grid) and
/// `points`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticSpec {
    /// Two tasks: the first task's weight (the second gets 1 − w1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w1: Option<W1Spec>,
    /// Every point whose weights are multiples of `step` summing to 1 (`1 / step` must be a
    /// whole number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Explicit points, each summing to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<Vec<WeightsSpec>>,
}

/// Decimal places kept for weights: grid values are rounded to them so that 0.1 · 3 is 0.3,
/// not 0.30000000000000004, in ids, logs and plots.
const W1_DECIMALS: i32 = 10;

/// How far from 1 the weights of a point may sum (rounding of decimal input).
const SUM_TOLERANCE: f64 = 1e-9;

/// Round `x` to [`W1_DECIMALS`] places.
pub fn round_w1(x: f64) -> f64 {
    let scale = 10f64.powi(W1_DECIMALS);
    (x * scale).round() / scale
}

/// A weight as written in run ids, tables and plots: always with a decimal point (`0.0`, `0.3`,
/// `1.0`).
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

/// The number of grid steps in 1 when `step` divides 1 (nearly) evenly.
fn divisions(step: f64) -> Option<usize> {
    let n = 1.0 / step;
    let whole = n.round();
    (step > 0.0 && step.is_finite() && (n - whole).abs() < 1e-9 && whole >= 1.0)
        .then_some(whole as usize)
}

/// Every way to write `total` as an ordered sum of `parts` whole numbers ≥ 0, in
/// lexicographic order of the parts.
fn compositions(total: usize, parts: usize) -> Vec<Vec<usize>> {
    if parts == 1 {
        return vec![vec![total]];
    }
    (0..=total)
        .flat_map(|first| {
            compositions(total - first, parts - 1)
                .into_iter()
                .map(move |mut rest| {
                    rest.insert(0, first);
                    rest
                })
        })
        .collect()
}

impl StaticSpec {
    /// The entry's points for `tasks`, in order: the w1 values, the grid in lexicographic
    /// order of the weights (for two tasks the same points as the w1 grid), or the explicit
    /// points. Assumes [`check`](Self::check) passed.
    pub fn points(&self, tasks: &Tasks) -> Vec<StaticPoint> {
        if let Some(w1) = &self.w1 {
            return w1.values().into_iter().map(StaticPoint::w1).collect();
        }
        if let Some(step) = self.step {
            let n = divisions(step).unwrap_or(0);
            return compositions(n, tasks.len())
                .into_iter()
                .map(|k| StaticPoint::of(k.iter().map(|&k| round_w1(k as f64 * step)).collect()))
                .collect();
        }
        self.points
            .iter()
            .flatten()
            .filter_map(|p| p.resolve(tasks).ok())
            .map(|w| StaticPoint::of(w.into_iter().map(round_w1).collect()))
            .collect()
    }

    /// Exactly one way of giving points, each point on the simplex of `tasks`; fields are
    /// relative to the entry.
    pub fn check(&self, tasks: &Tasks) -> Result<(), SettingsError> {
        let given = [
            self.w1.is_some(),
            self.step.is_some(),
            self.points.is_some(),
        ];
        SettingsError::ensure(
            given.iter().filter(|g| **g).count() == 1,
            "static",
            "give exactly one of `w1` (two tasks), `step` (every point of the simplex grid) or `points`",
        )?;
        if let Some(w1) = &self.w1 {
            SettingsError::ensure(
                tasks.len() == 2,
                "w1",
                format!(
                    "`w1` weighs two tasks and this study has {} ({}); use `step: 0.1` or `points`",
                    tasks.len(),
                    tasks.names().join(", ")
                ),
            )?;
            return w1.check();
        }
        if let Some(step) = self.step {
            return SettingsError::ensure(
                divisions(step).is_some(),
                "step",
                format!("must divide 1 into whole steps, e.g. 0.1, 0.2 or 0.25 (got {step})"),
            );
        }
        let points = self.points.as_deref().unwrap_or_default();
        SettingsError::ensure(!points.is_empty(), "points", "needs at least one point")?;
        for (i, p) in points.iter().enumerate() {
            let w = p.resolve(tasks).map_err(|message| SettingsError {
                field: format!("points[{i}]"),
                message,
            })?;
            SettingsError::ensure(
                w.iter().all(|x| (0.0..=1.0).contains(x)),
                &format!("points[{i}]"),
                format!("every weight must be in [0, 1] (got {w:?})"),
            )?;
            let sum: f64 = w.iter().sum();
            SettingsError::ensure(
                (sum - 1.0).abs() <= SUM_TOLERANCE,
                &format!("points[{i}]"),
                format!("the weights must sum to 1 (got {sum})"),
            )?;
        }
        Ok(())
    }
}

impl WeightsSpec {
    /// The weights in task order, or why they do not fit `tasks`.
    fn resolve(&self, tasks: &Tasks) -> Result<Vec<f64>, String> {
        match self {
            WeightsSpec::List(w) if w.len() == tasks.len() => Ok(w.clone()),
            WeightsSpec::List(w) => Err(format!(
                "{} weights for {} tasks ({})",
                w.len(),
                tasks.len(),
                tasks.names().join(", ")
            )),
            WeightsSpec::Named(m) => {
                if let Some(unknown) = m.keys().find(|k| tasks.position(k).is_none()) {
                    return Err(format!(
                        "`{unknown}` is not a task of this study ({})",
                        tasks.names().join(", ")
                    ));
                }
                tasks
                    .iter()
                    .map(|t| {
                        m.get(&t.name)
                            .copied()
                            .ok_or_else(|| format!("no weight for task `{}`", t.name))
                    })
                    .collect()
            }
        }
    }
}

/// One static point: for two tasks its `w1` (the form run ids have always hashed), for more
/// its weights in task order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StaticPoint {
    /// Two tasks: w1 and 1 − w1.
    W1 {
        /// The first task's weight.
        w1: f64,
    },
    /// Any number of tasks: the weights, summing to 1.
    Weights {
        /// One weight per task, in task order.
        w: Vec<f64>,
    },
}

impl StaticPoint {
    /// The two-task point (w1, 1 − w1).
    pub fn w1(w1: f64) -> Self {
        StaticPoint::W1 { w1 }
    }

    /// The point with `weights` in task order (two weights make a [`StaticPoint::W1`]).
    pub fn of(weights: Vec<f64>) -> Self {
        match weights[..] {
            [w1, _] => StaticPoint::W1 { w1 },
            _ => StaticPoint::Weights { w: weights },
        }
    }

    /// The weights in task order.
    pub fn weights(&self) -> Vec<f64> {
        match self {
            StaticPoint::W1 { w1 } => vec![*w1, 1.0 - *w1],
            StaticPoint::Weights { w } => w.clone(),
        }
    }

    /// The first task's weight of a two-task point.
    pub fn as_w1(&self) -> Option<f64> {
        match self {
            StaticPoint::W1 { w1 } => Some(*w1),
            StaticPoint::Weights { .. } => None,
        }
    }

    /// The point in a run id: `w0.3`, `w0.2-0.3-0.5`.
    pub fn id(&self) -> String {
        match self {
            StaticPoint::W1 { w1 } => format!("w{}", format_w1(*w1)),
            StaticPoint::Weights { w } => format!(
                "w{}",
                w.iter()
                    .map(|x| format_w1(*x))
                    .collect::<Vec<_>>()
                    .join("-")
            ),
        }
    }
}

/// A static point's label in tables and figures: `static w1=0.3` for two tasks, `static
/// fv=0.2 ex=0.3 pose=0.5` for more (`names` are the task names).
pub fn static_label(weights: &[f64], names: &[&str]) -> String {
    match weights {
        [w1, _] => format!("static w1={}", format_w1(*w1)),
        _ => {
            let parts: Vec<String> = names
                .iter()
                .zip(weights)
                .map(|(n, w)| format!("{n}={}", format_w1(*w)))
                .collect();
            format!("static {}", parts.join(" "))
        }
    }
}

/// Fixed task weights; the weight unit is never used, so it never changes.
#[derive(Debug, Clone)]
pub struct StaticWeights {
    weights: Vec<f64>,
}

impl StaticWeights {
    /// Fixed `weights`, in task order.
    pub fn new(weights: Vec<f64>) -> Self {
        Self { weights }
    }
}

impl Strategy for StaticWeights {
    fn unit_lr(&self) -> Option<f64> {
        None
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        constant_objective(&self.weights, &ctx.losses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(yaml: &str) -> Tasks {
        serde_yaml::from_str(yaml).unwrap()
    }

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

    #[test]
    fn the_simplex_grid_has_every_composition_once() {
        let three = tasks("[fv, ex, pose]");
        let spec = StaticSpec {
            step: Some(0.1),
            ..StaticSpec::default()
        };
        spec.check(&three).unwrap();
        let points = spec.points(&three);
        assert_eq!(points.len(), 66);
        for p in &points {
            let w = p.weights();
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{w:?}");
            assert!(w.iter().all(|x| format!("{x}").len() <= 3), "{w:?}");
        }
        let ids: std::collections::HashSet<String> = points.iter().map(|p| p.id()).collect();
        assert_eq!(ids.len(), 66);
        assert_eq!(points[0].id(), "w0.0-0.0-1.0");
        // Two tasks: the same points, in the same form and order, as the w1 grid.
        let two = Tasks::default();
        let by_step = spec.points(&two);
        let by_w1 = StaticSpec {
            w1: Some(W1Spec::Grid(Grid {
                from: 0.0,
                to: 1.0,
                step: 0.1,
            })),
            ..StaticSpec::default()
        }
        .points(&two);
        assert_eq!(by_step, by_w1);
        assert_eq!(
            static_label(&by_step[3].weights(), &two.names()),
            "static w1=0.3"
        );
        assert_eq!(
            static_label(&[0.2, 0.3, 0.5], &three.names()),
            "static fv=0.2 ex=0.3 pose=0.5"
        );
    }

    #[test]
    fn points_off_the_simplex_are_refused() {
        let three = tasks("[fv, ex, pose]");
        let check = |yaml: &str| {
            serde_yaml::from_str::<StaticSpec>(yaml)
                .unwrap()
                .check(&three)
                .map_err(|e| format!("{}: {}", e.field, e.message))
        };
        assert!(check("{ points: [[0.2, 0.3, 0.5], { fv: 0.5, ex: 0.25, pose: 0.25 }] }").is_ok());
        let cases = [
            (
                "{ points: [[0.2, 0.3, 0.6]] }",
                "points[0]: the weights must sum to 1",
            ),
            (
                "{ points: [[0.5, 0.5]] }",
                "points[0]: 2 weights for 3 tasks",
            ),
            (
                "{ points: [{ fv: 0.5, ex: 0.5, age: 0 }] }",
                "`age` is not a task",
            ),
            ("{ step: 0.3 }", "step: must divide 1"),
            (
                "{ w1: [0.5] }",
                "w1: `w1` weighs two tasks and this study has 3",
            ),
            ("{ step: 0.5, w1: [0.5] }", "give exactly one of"),
            (
                "{ points: [[1.5, -0.5, 0.0]] }",
                "every weight must be in [0, 1]",
            ),
        ];
        for (yaml, want) in cases {
            let e = check(yaml).unwrap_err();
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }
}
