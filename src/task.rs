//! [`Tasks`]: the study's named tasks, each with a [`TaskKind`], the [`Metric`] that scores it
//! and that metric's [`Direction`]. Declared once in the experiment (`tasks:`), they travel
//! with every job (its resolved config) to the logs, whose per-task columns are named after
//! them, and to the reports, which read each metric in its own direction.
//!
//! An experiment without `tasks:` has the built-in face model's two tasks, face verification
//! (`fv`) and expression (`ex`): the paper's study. The face model knows a third built-in
//! task, the head's in-plane tilt (`pose`, see docs/model.md); `tasks: [fv, ex, pose]` is a
//! three-task face study.
//!
//! ```
//! use weightlab::task::{Direction, Tasks};
//!
//! let tasks: Tasks = serde_yaml::from_str("[fv, ex, pose]").unwrap();
//! tasks.check().unwrap();
//! assert_eq!(tasks.names(), ["fv", "ex", "pose"]);
//! assert_eq!(tasks[2].metric.direction(), Direction::Lower);
//! assert_eq!(tasks[2].metric_column(), "pose_mae");
//! ```

use serde::{Deserialize, Serialize};

/// What a task predicts, which decides the metrics it can be scored with (and, in the face
/// model, the head it trains).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Whether two pictures show the same subject, scored on pairs (the face model's `fv`).
    Verification,
    /// One class out of several (the face model's `ex`).
    Classification,
    /// A number (the face model's `pose`).
    Regression,
    /// Anything else a trainer of its own scores (segmentation, depth, ...): any metric name,
    /// with its direction given.
    Other,
}

impl TaskKind {
    /// Lower-case name, as in the YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Verification => "verification",
            TaskKind::Classification => "classification",
            TaskKind::Regression => "regression",
            TaskKind::Other => "other",
        }
    }

    /// The metric a task of this kind is scored with when the experiment names none.
    fn default_metric(self) -> Option<&'static str> {
        match self {
            TaskKind::Verification | TaskKind::Classification => Some("acc"),
            TaskKind::Regression => Some("mae"),
            TaskKind::Other => None,
        }
    }

    /// The metrics weightlab knows for this kind (any name for [`TaskKind::Other`]).
    fn metrics(self) -> &'static [&'static str] {
        match self {
            TaskKind::Verification => &["acc"],
            TaskKind::Classification => &["acc", "error"],
            TaskKind::Regression => &["mae", "rmse", "mse"],
            TaskKind::Other => &[],
        }
    }
}

/// Whether a higher or a lower value of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher is better (accuracy).
    Higher,
    /// Lower is better (an error).
    Lower,
}

impl Direction {
    /// +1 for higher-is-better, −1 for lower-is-better: the sign that turns a difference of
    /// the metric into a gain.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Higher => 1.0,
            Direction::Lower => -1.0,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
        }
    }
}

/// How a task is scored: a metric name, its direction, and the size of one unit of it in model
/// selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Its name, the suffix of the task's metric columns (`acc` → `fv_acc`).
    pub name: String,
    direction: Direction,
}

impl Metric {
    /// A metric `name` read in `direction`.
    pub fn new(name: &str, direction: Direction) -> Self {
        Self {
            name: name.to_string(),
            direction,
        }
    }

    /// Whether higher or lower is better.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Whether its values are fractions in [0, 1] (accuracies, error rates): confidence
    /// intervals are cut to [0, 1], and differences read in points (× 100).
    pub fn is_fraction(&self) -> bool {
        matches!(self.name.as_str(), "acc" | "error")
    }

    /// The factor that turns a difference of this metric into the unit tables show it in:
    /// accuracy points for fractions, the metric's own unit otherwise.
    pub fn display_factor(&self) -> f64 {
        if self.is_fraction() {
            100.0
        } else {
            1.0
        }
    }

    /// The unit of a difference as tables name it.
    pub fn display_unit(&self) -> &'static str {
        if self.is_fraction() {
            "points"
        } else {
            "units"
        }
    }
}

/// One task of a study.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Its name: the suffix of its weight and loss columns (`w_fv`, `loss_fv`) and the prefix
    /// of its metric's (`fv_acc`).
    pub name: String,
    /// What it predicts.
    pub kind: TaskKind,
    /// How it is scored.
    pub metric: Metric,
    /// One unit of the metric in model selection, which picks the epoch with the highest
    /// Σ ± metric / scale over the tasks (1 for fractions; an error metric is best given the
    /// error of a constant guess, so that its unit weighs like the accuracies').
    pub scale: f64,
}

/// The built-in face model's tasks, by name: face verification, expression, and the head's
/// in-plane tilt in degrees. The tilt's scale is the mean absolute error of guessing no tilt
/// on the synthetic faces' uniform ±6.875° (`jitter: 1`).
const FACE_TASKS: [(&str, TaskKind, &str, f64); 3] = [
    ("fv", TaskKind::Verification, "acc", 1.0),
    ("ex", TaskKind::Classification, "acc", 1.0),
    ("pose", TaskKind::Regression, "mae", 3.4375),
];

/// The metric names known to weightlab and their directions.
fn known_direction(metric: &str) -> Option<Direction> {
    match metric {
        "acc" => Some(Direction::Higher),
        "error" | "mae" | "rmse" | "mse" => Some(Direction::Lower),
        _ => None,
    }
}

impl Task {
    /// The face model's built-in task `name` (`fv`, `ex` or `pose`).
    pub fn face(name: &str) -> Option<Self> {
        FACE_TASKS
            .iter()
            .find(|t| t.0 == name)
            .map(|&(name, kind, metric, scale)| Task {
                name: name.to_string(),
                kind,
                metric: Metric::new(metric, known_direction(metric).unwrap_or(Direction::Higher)),
                scale,
            })
    }

    /// The column of its metric on the test split, e.g. `fv_acc`.
    pub fn metric_column(&self) -> String {
        format!("{}_{}", self.name, self.metric.name)
    }

    /// The column of its metric on the validation split, e.g. `val_fv_acc`.
    pub fn val_column(&self) -> String {
        format!("val_{}", self.metric_column())
    }

    /// How tables head its metric, e.g. `fv acc`.
    pub fn metric_label(&self) -> String {
        format!("{} {}", self.name, self.metric.name)
    }
}

/// A task as the YAML writes it: a built-in face task's name, or a map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum RawTask {
    Name(String),
    Full(FullTask),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FullTask {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<TaskKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale: Option<f64>,
}

/// A task that does not make sense: the field (relative to `tasks[i]`) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskError {
    /// The field, e.g. `tasks[2].metric`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn task_error(field: String, message: String) -> TaskError {
    TaskError { field, message }
}

impl FullTask {
    /// The task this entry declares; the built-in face task of its name fills what it omits.
    fn resolve(&self, at: &str) -> Result<Task, TaskError> {
        let builtin = Task::face(&self.name);
        let kind = match (self.kind, &builtin) {
            (Some(k), _) => k,
            (None, Some(b)) => b.kind,
            (None, None) => {
                return Err(task_error(
                    format!("{at}.kind"),
                    format!(
                        "task `{}` is not a built-in face task (fv, ex, pose); give its kind: \
                         verification, classification, regression or other",
                        self.name
                    ),
                ))
            }
        };
        let same_builtin = builtin.as_ref().filter(|b| b.kind == kind);
        let metric = match (&self.metric, same_builtin, kind.default_metric()) {
            (Some(m), _, _) => m.clone(),
            (None, Some(b), _) => b.metric.name.clone(),
            (None, None, Some(m)) => m.to_string(),
            (None, None, None) => {
                return Err(task_error(
                    format!("{at}.metric"),
                    "a task of kind `other` names its metric, e.g. `metric: miou`".into(),
                ))
            }
        };
        let known = kind.metrics();
        if !known.is_empty() && !known.contains(&metric.as_str()) {
            return Err(task_error(
                format!("{at}.metric"),
                format!(
                    "a {} task cannot be scored by `{metric}`; use one of: {}",
                    kind.as_str(),
                    known.join(", ")
                ),
            ));
        }
        let direction = match (self.direction, known_direction(&metric)) {
            (Some(d), Some(k)) if d != k => {
                return Err(task_error(
                    format!("{at}.direction"),
                    format!(
                        "`{metric}` is {}-is-better; leave `direction` out",
                        k.as_str()
                    ),
                ))
            }
            (Some(d), _) | (None, Some(d)) => d,
            (None, None) => {
                return Err(task_error(
                    format!("{at}.direction"),
                    format!("say whether a higher or a lower `{metric}` is better: `direction: higher` or `lower`"),
                ))
            }
        };
        let scale = match (self.scale, same_builtin) {
            (Some(s), _) => s,
            (None, Some(b)) if b.metric.name == metric => b.scale,
            _ => 1.0,
        };
        if !(scale.is_finite() && scale > 0.0) {
            return Err(task_error(
                format!("{at}.scale"),
                format!("must be a number > 0 (got {scale})"),
            ));
        }
        Ok(Task {
            name: self.name.clone(),
            kind,
            metric: Metric::new(&metric, direction),
            scale,
        })
    }
}

/// The tasks of a study, in the order of the weights, losses and columns (at least two,
/// unique names). `Tasks::default()` is the face model's `fv` and `ex`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tasks(Vec<Task>);

impl Default for Tasks {
    fn default() -> Self {
        Self(vec![
            Task::face("fv").expect("built in"),
            Task::face("ex").expect("built in"),
        ])
    }
}

impl std::ops::Deref for Tasks {
    type Target = [Task];
    fn deref(&self) -> &[Task] {
        &self.0
    }
}

impl Tasks {
    /// The tasks `list`, unchecked (see [`Tasks::check`]).
    pub fn new(list: Vec<Task>) -> Self {
        Self(list)
    }

    /// Whether these are the paper's two face tasks, which the resolved config leaves out so
    /// that two-task run ids keep their hashes.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The task names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|t| t.name.as_str()).collect()
    }

    /// The position of task `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|t| t.name == name)
    }

    /// At least two tasks, unique names usable as column names.
    pub fn check(&self) -> Result<(), TaskError> {
        if self.0.len() < 2 {
            return Err(task_error(
                "tasks".into(),
                format!(
                    "a loss-weighting study needs at least two tasks (got {}); a single task has nothing to weigh",
                    self.0.len()
                ),
            ));
        }
        for (i, t) in self.0.iter().enumerate() {
            let ok = !t.name.is_empty()
                && t.name.len() <= 32
                && t.name.starts_with(|c: char| c.is_ascii_lowercase())
                && t.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(task_error(
                    format!("tasks[{i}].name"),
                    format!(
                        "`{}` cannot name columns; use a lower-case letter, then letters, digits and _",
                        t.name
                    ),
                ));
            }
            if self.0[..i].iter().any(|u| u.name == t.name) {
                return Err(task_error(
                    format!("tasks[{i}].name"),
                    format!("duplicate task name `{}`", t.name),
                ));
            }
        }
        Ok(())
    }

    /// Parse the YAML's entries, naming the first that does not make sense.
    fn from_raw(raw: Vec<RawTask>) -> Result<Self, TaskError> {
        raw.into_iter()
            .enumerate()
            .map(|(i, r)| {
                let at = format!("tasks[{i}]");
                match r {
                    RawTask::Name(name) => Task::face(&name).ok_or_else(|| {
                        task_error(
                            at,
                            format!(
                                "`{name}` is not a built-in face task (fv, ex, pose); declare it as \
                                 `{{ name: {name}, kind: ..., metric: ... }}`"
                            ),
                        )
                    }),
                    RawTask::Full(f) => f.resolve(&at),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl Serialize for Tasks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: Vec<FullTask> = self
            .0
            .iter()
            .map(|t| FullTask {
                name: t.name.clone(),
                kind: Some(t.kind),
                metric: Some(t.metric.name.clone()),
                direction: Some(t.metric.direction),
                scale: Some(t.scale),
            })
            .collect();
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Tasks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Vec::<RawTask>::deserialize(d)?;
        Self::from_raw(raw)
            .map_err(|e| serde::de::Error::custom(format!("{}: {}", e.field, e.message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Tasks, String> {
        serde_yaml::from_str::<Tasks>(yaml)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                t.check()
                    .map(|()| t)
                    .map_err(|e| format!("{}: {}", e.field, e.message))
            })
    }

    #[test]
    fn names_and_maps_resolve_to_full_tasks() {
        let t = parse("[fv, {name: ex}, {name: pose, metric: rmse}, {name: depth, kind: other, metric: abs_rel, direction: lower}]").unwrap();
        assert_eq!(t.names(), ["fv", "ex", "pose", "depth"]);
        assert_eq!(t[0].kind, TaskKind::Verification);
        assert_eq!(t[2].metric.name, "rmse");
        assert_eq!(
            t[2].scale, 1.0,
            "the built-in scale belongs to the built-in metric"
        );
        assert_eq!(t[3].metric.direction(), Direction::Lower);
        assert_eq!(t[3].val_column(), "val_depth_abs_rel");
        assert!(Tasks::default().is_default());
        assert!(!t.is_default());
        // Written back in full, read back the same.
        let back: Tasks = serde_yaml::from_str(&serde_yaml::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn nonsense_is_named_with_its_field() {
        let cases = [
            (
                "[fv]",
                "tasks: a loss-weighting study needs at least two tasks (got 1)",
            ),
            ("[fv, fv]", "tasks[1].name: duplicate task name `fv`"),
            (
                "[fv, depth]",
                "tasks[1]: `depth` is not a built-in face task",
            ),
            (
                "[fv, {name: d, kind: classification, metric: mae}]",
                "tasks[1].metric: a classification task cannot be scored by `mae`",
            ),
            (
                "[fv, {name: d, kind: regression, direction: higher}]",
                "tasks[1].direction: `mae` is lower-is-better",
            ),
            (
                "[fv, {name: d, kind: other, metric: miou}]",
                "tasks[1].direction: say whether",
            ),
            (
                "[fv, {name: d, kind: other}]",
                "tasks[1].metric: a task of kind `other` names its metric",
            ),
            (
                "[fv, {name: Depth, kind: regression}]",
                "tasks[1].name: `Depth` cannot name columns",
            ),
            (
                "[fv, {name: d, kind: regression, scale: 0}]",
                "tasks[1].scale: must be a number > 0",
            ),
        ];
        for (yaml, want) in cases {
            let e = parse(yaml).unwrap_err();
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }
}
