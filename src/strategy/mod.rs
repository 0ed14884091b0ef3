//! [`Strategy`]: how a training step weighs the task losses, and which parameters each loss
//! term may reach. One file per strategy; the registry ([`StrategySpec`] →
//! [`StrategyPoint`] → `Box<dyn Strategy>`) is the only place that names them all. A strategy
//! of your own implements [`Strategy`] and is registered under a name with
//! [`crate::train::Parts::strategy`]; an experiment names it as
//! `registered: { name: NAME, settings: {...} }` ([`RegisteredStrategy`]).
//!
//! The training loop asks the strategy for an [`Objective`] (the scalar to backpropagate, the
//! weights it applied, the logged loss terms) and steps Ψ only when [`Strategy::unit_lr`] says
//! so. Gradient routing is expressed in the objective itself with `detach()`: a term that must
//! not reach Θ sees detached losses and detached features, a weight that must not receive the
//! total loss's gradient is detached where it multiplies the losses. Strategies that keep
//! state of their own (uncertainty's log-variances, GradNorm's weights, DWA's loss history)
//! update it from plain numbers in [`Strategy::after_step`] / [`Strategy::end_epoch`], so the
//! loop never learns that they exist.

mod dwa;
mod equal;
mod gls;
mod gradnorm;
mod l3;
mod rlw;
mod scalar_adam;
mod static_weights;
mod uncertainty;
mod yin;

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use crate::model::{WeightUnit, WeightUnitConfig};
use crate::task::Tasks;
pub use dwa::{Dwa, DwaConfig};
pub use equal::{EqualConfig, EqualWeights};
pub use gls::{Gls, GlsConfig};
pub use gradnorm::{GradNorm, GradNormConfig};
pub use l3::{Flow, L3Config, L3};
pub use rlw::{Rlw, RlwConfig};
pub use static_weights::{
    format_w1, round_w1, static_label, Grid, StaticPoint, StaticSpec, StaticWeights, W1Spec,
    WeightsSpec,
};
pub use uncertainty::{Uncertainty, UncertaintyConfig};
pub use yin::{Yin, YinConfig};

/// The task losses of one step, each a `[1]` tensor attached to Θ's graph, in task order.
#[derive(Debug, Clone)]
pub struct TaskLosses(pub Vec<Tensor<1>>);

impl TaskLosses {
    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `[L_1, …, L_T]` as one `[T]` tensor (attached).
    pub fn stacked(&self) -> Tensor<1> {
        Tensor::cat(self.0.clone(), 0)
    }

    /// The same losses detached from the graph, as one `[T]` tensor.
    pub fn detached(&self) -> Tensor<1> {
        Tensor::cat(self.0.iter().map(|l| l.clone().detach()).collect(), 0)
    }

    /// The device the losses live on.
    pub fn device(&self) -> Device {
        self.0[0].device()
    }
}

/// The task losses and the norms of their gradients on the last shared layer's weights W,
/// ‖∇_W L_i‖, at the current parameters, in task order.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedGradients {
    /// L_i.
    pub losses: Vec<f64>,
    /// ‖∇_W L_i‖ (Frobenius norms).
    pub norms: Vec<f64>,
}

/// What a strategy sees at one training step.
pub struct StepContext<'a> {
    /// Shared features Z, `[batch, z_dim]`, attached to Θ's graph.
    pub z: Tensor<2>,
    /// The dynamic-weight unit Ψ (one output per task).
    pub unit: &'a WeightUnit,
    /// The task losses, in the order of `tasks`.
    pub losses: TaskLosses,
    /// The study's tasks.
    pub tasks: &'a Tasks,
    /// Per-task gradient norms on the last shared layer, computed only when called (one
    /// backward pass per task over the last shared layer and the heads).
    pub shared_gradients: &'a dyn Fn() -> SharedGradients,
}

/// What a strategy returns for one step.
#[derive(Debug, Clone)]
pub struct Objective {
    /// The scalar to backpropagate, `[1]`.
    pub loss: Tensor<1>,
    /// The task weights applied to the losses this step, `[T]` in task order, on the
    /// strategy's own scale: logged as `raw_w_<task>`, and normalised to sum 1 as `w_<task>`.
    pub weights: Tensor<1>,
    /// Σ w_i L_i with the raw weights, `[1]`, logged as `loss_total`.
    pub total: Tensor<1>,
    /// The strategy's own loss term, logged as `loss_l3` for `l3`.
    pub extra: Option<Tensor<1>>,
}

/// A loss-weighting strategy.
pub trait Strategy: Send {
    /// The learning rate of Ψ, or `None` when this strategy does not train the weight unit.
    fn unit_lr(&self) -> Option<f64>;

    /// This step's objective.
    fn objective(&mut self, ctx: StepContext<'_>) -> Objective;

    /// This step's task loss values (task order), once its objective was built and
    /// backpropagated.
    fn after_step(&mut self, _losses: &[f64]) {}

    /// Whether [`after_step`](Strategy::after_step) needs every step's losses before the next
    /// step (then the loop reads them back each step, even on a GPU).
    fn needs_step_losses(&self) -> bool {
        false
    }

    /// The epoch's mean training losses (those logged as `loss_<task>`), after its last step.
    fn end_epoch(&mut self, _mean_losses: &[f64]) {}

    /// Everything the strategy carries from step to step (loss histories, its own parameters
    /// and optimiser, its random generator), for a checkpoint; `Null` when it carries nothing.
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Take back a [`state`](Strategy::state) of a strategy built from the same settings; a
    /// state that does not fit is an [`Error::Checkpoint`](crate::error::Error::Checkpoint)
    /// (the job then restarts without the checkpoint).
    fn restore(&mut self, _state: &serde_json::Value) -> crate::error::Result<()> {
        Ok(())
    }
}

/// What a strategy may draw on when it is built.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildContext {
    /// The job's seed (for strategies that draw random numbers).
    pub seed: u64,
    /// Θ's learning rate (the default of strategies that learn their weights with Θ).
    pub theta_lr: f64,
    /// The study's tasks: the weights a strategy returns follow their order. A strategy that
    /// exists for some task counts only refuses the others with a [`SettingsError`] on
    /// `tasks` (see [`SettingsError::two_tasks_only`]).
    pub tasks: Tasks,
}

/// A setting that is out of range: the field (relative to the strategy's entry) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsError {
    /// The field, e.g. `lr` or `w1.step`.
    pub field: String,
    /// What is wrong, e.g. `must be a number > 0 (got -1)`.
    pub message: String,
}

impl SettingsError {
    /// `ok`, or an error for `field` with `message`.
    pub fn ensure(ok: bool, field: &str, message: impl Into<String>) -> Result<(), Self> {
        if ok {
            Ok(())
        } else {
            Err(Self {
                field: field.to_string(),
                message: message.into(),
            })
        }
    }

    /// A strategy defined for two tasks only, asked to weigh `tasks`: the one error line that
    /// says so.
    pub fn two_tasks_only(strategy: &str, tasks: &Tasks) -> Result<(), Self> {
        Self::ensure(
            tasks.len() == 2,
            "tasks",
            format!(
                "`{strategy}` is defined for two tasks only; this study has {} ({})",
                tasks.len(),
                tasks.names().join(", ")
            ),
        )
    }

    /// `value` is a finite number > 0.
    pub fn positive(value: f64, field: &str) -> Result<(), Self> {
        Self::ensure(
            value.is_finite() && value > 0.0,
            field,
            format!("must be a number > 0 (got {value})"),
        )
    }
}

/// The settings of one dynamic strategy (its YAML entry): what the registry needs of it.
pub trait Settings {
    /// The strategy's name in logs and its key in the YAML.
    fn name(&self) -> &'static str;
    /// Out-of-range values.
    fn check(&self) -> Result<(), SettingsError>;
    /// Whether the strategy is defined for `tasks` (every built-in strategy is defined for
    /// any number of tasks).
    fn check_tasks(&self, _tasks: &Tasks) -> Result<(), SettingsError> {
        Ok(())
    }
    /// The strategy these settings describe.
    fn build(&self, ctx: &BuildContext) -> Box<dyn Strategy>;
    /// The settings that differ from the strategy's defaults, as `key=value` pairs.
    fn detail(&self) -> String;
    /// How the weight unit Ψ is built for this strategy.
    fn unit_config(&self) -> WeightUnitConfig {
        WeightUnitConfig::default()
    }
}

/// The point a study of `tasks` tasks compares every other with unless told otherwise: the
/// middle static point (`static w1=0.5`) of two tasks, equal weights (`equal`) of more, since a
/// simplex grid need not hold the point 1/T, …, 1/T.
pub fn default_baseline(tasks: usize) -> String {
    if tasks == 2 {
        static_label(&[0.5, 0.5], &[])
    } else {
        EqualConfig::default().name().to_string()
    }
}

/// A strategy's checkpointed state restores only into a strategy for as many tasks.
fn same_task_count(mine: usize, state: usize) -> crate::error::Result<()> {
    if mine == state {
        Ok(())
    } else {
        Err(crate::error::Error::Checkpoint(format!(
            "the strategy's state is for {state} tasks, this job has {mine}"
        )))
    }
}

/// `key=value` for each field of `settings` that differs from `C::default()`.
pub fn non_default<C: Serialize + Default>(settings: &C) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(d))) = (
        serde_json::to_value(settings),
        serde_json::to_value(C::default()),
    ) else {
        return String::new();
    };
    a.iter()
        .filter(|(k, v)| d.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Σ w_i L_i for weights `w` (`[T]`).
pub fn weighted_sum(w: Tensor<1>, losses: &TaskLosses) -> Tensor<1> {
    (w * losses.stacked()).sum()
}

/// Constant weights `w` (`[T]`) on `device`.
pub fn constant_weights(w: &[f64], device: &Device) -> Tensor<1> {
    let v: Vec<f32> = w.iter().map(|x| *x as f32).collect();
    Tensor::from_data(TensorData::new(v, vec![w.len()]), device)
}

/// The objective of strategies whose weights are numbers fixed for the step: Σ w_i L_i.
pub fn constant_objective(w: &[f64], losses: &TaskLosses) -> Objective {
    let weights = constant_weights(w, &losses.device());
    let total = weighted_sum(weights.clone(), losses);
    Objective {
        loss: total.clone(),
        weights,
        total,
        extra: None,
    }
}

/// One entry of `strategies:` in the experiment YAML; a static grid expands to many points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategySpec {
    /// Fixed weights: `w1` and 1 − w1 for two tasks, or points on the simplex.
    Static(StaticSpec),
    /// Yin & Liu's total-loss weights.
    Yin(YinConfig),
    /// The paper's L3 dynamic weights.
    L3(L3Config),
    /// w_i = 1/T.
    Equal(EqualConfig),
    /// Kendall et al.'s homoscedastic uncertainty weights.
    Uncertainty(UncertaintyConfig),
    /// Liu et al.'s dynamic weight average.
    Dwa(DwaConfig),
    /// Chen et al.'s gradient normalisation.
    Gradnorm(GradNormConfig),
    /// Lin et al.'s random loss weighting.
    Rlw(RlwConfig),
    /// Geometric mean of the losses.
    Gls(GlsConfig),
    /// A strategy registered by the program that runs the sweep.
    Registered(RegisteredStrategy),
    /// A method the process trainer implements (`trainer:` in the experiment).
    External(ExternalStrategy),
}

/// A strategy registered under `name` by the program that runs the sweep (see
/// [`crate::train::Parts::strategy`]), with the settings its builder reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredStrategy {
    /// The name it was registered under.
    pub name: String,
    /// Its settings, handed to its builder as they stand in the YAML.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub settings: serde_json::Value,
}

/// A weighting method that the process trainer implements (`external: { name: upgrad,
/// settings: {...} }`): weightlab passes its name and settings in the job's spec and reads the
/// weights the trainer logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalStrategy {
    /// The method's name, as the trainer knows it.
    pub name: String,
    /// Its settings, handed to the trainer as they stand in the YAML.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub settings: serde_json::Value,
}

/// One concrete strategy of one job: what a `run_id` is derived from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyPoint {
    /// Fixed weights.
    Static(StaticPoint),
    /// See [`Yin`].
    Yin(YinConfig),
    /// See [`L3`].
    L3(L3Config),
    /// See [`EqualWeights`].
    Equal(EqualConfig),
    /// See [`Uncertainty`].
    Uncertainty(UncertaintyConfig),
    /// See [`Dwa`].
    Dwa(DwaConfig),
    /// See [`GradNorm`].
    Gradnorm(GradNormConfig),
    /// See [`Rlw`].
    Rlw(RlwConfig),
    /// See [`Gls`].
    Gls(GlsConfig),
    /// See [`RegisteredStrategy`].
    Registered(RegisteredStrategy),
    /// See [`ExternalStrategy`].
    External(ExternalStrategy),
}

impl StrategySpec {
    /// The YAML keys of the built-in strategies.
    pub fn builtin_names() -> [&'static str; 9] {
        [
            "static",
            "yin",
            "l3",
            "equal",
            "uncertainty",
            "dwa",
            "gradnorm",
            "rlw",
            "gls",
        ]
    }

    /// The concrete points this entry stands for with `tasks` (one, or one per static point).
    pub fn points(&self, tasks: &Tasks) -> Vec<StrategyPoint> {
        match self {
            StrategySpec::Static(spec) => spec
                .points(tasks)
                .into_iter()
                .map(StrategyPoint::Static)
                .collect(),
            StrategySpec::Yin(c) => vec![StrategyPoint::Yin(c.clone())],
            StrategySpec::L3(c) => vec![StrategyPoint::L3(c.clone())],
            StrategySpec::Equal(c) => vec![StrategyPoint::Equal(c.clone())],
            StrategySpec::Uncertainty(c) => vec![StrategyPoint::Uncertainty(c.clone())],
            StrategySpec::Dwa(c) => vec![StrategyPoint::Dwa(c.clone())],
            StrategySpec::Gradnorm(c) => vec![StrategyPoint::Gradnorm(c.clone())],
            StrategySpec::Rlw(c) => vec![StrategyPoint::Rlw(c.clone())],
            StrategySpec::Gls(c) => vec![StrategyPoint::Gls(c.clone())],
            StrategySpec::Registered(r) => vec![StrategyPoint::Registered(r.clone())],
            StrategySpec::External(e) => vec![StrategyPoint::External(e.clone())],
        }
    }

    /// The entry's key in the YAML (`static`, `yin`, …; the name of a registered one).
    pub fn name(&self) -> &str {
        match self {
            StrategySpec::Static(_) => "static",
            StrategySpec::Registered(r) => &r.name,
            StrategySpec::External(e) => &e.name,
            _ => self.points(&Tasks::default())[0]
                .settings()
                .map_or("static", |s| s.name()),
        }
    }

    /// Out-of-range settings, and a strategy not defined for `tasks`; the field is relative
    /// to the entry (`lr`, `w1.step`).
    pub fn check(&self, tasks: &Tasks) -> Result<(), SettingsError> {
        match self {
            StrategySpec::Static(spec) => spec.check(tasks),
            _ => {
                let point = &self.points(tasks)[0];
                point.check()?;
                point.settings().map_or(Ok(()), |s| s.check_tasks(tasks))
            }
        }
    }
}

impl StrategyPoint {
    /// The settings of a built-in dynamic point; `None` for static weights and registered
    /// strategies.
    fn settings(&self) -> Option<&dyn Settings> {
        match self {
            StrategyPoint::Static(_)
            | StrategyPoint::Registered(_)
            | StrategyPoint::External(_) => None,
            StrategyPoint::Yin(c) => Some(c),
            StrategyPoint::L3(c) => Some(c),
            StrategyPoint::Equal(c) => Some(c),
            StrategyPoint::Uncertainty(c) => Some(c),
            StrategyPoint::Dwa(c) => Some(c),
            StrategyPoint::Gradnorm(c) => Some(c),
            StrategyPoint::Rlw(c) => Some(c),
            StrategyPoint::Gls(c) => Some(c),
        }
    }

    /// The strategy's name in logs.
    pub fn name(&self) -> &str {
        match self {
            StrategyPoint::Registered(r) => &r.name,
            StrategyPoint::External(e) => &e.name,
            _ => self.settings().map_or("static", |s| s.name()),
        }
    }

    /// The trainer's method this point names, if it is one.
    pub fn external(&self) -> Option<&ExternalStrategy> {
        match self {
            StrategyPoint::External(e) => Some(e),
            _ => None,
        }
    }

    /// The registered strategy this point names, if it is one.
    pub fn registered(&self) -> Option<&RegisteredStrategy> {
        match self {
            StrategyPoint::Registered(r) => Some(r),
            _ => None,
        }
    }

    /// The weights of a static point, in task order.
    pub fn static_weights(&self) -> Option<Vec<f64>> {
        match self {
            StrategyPoint::Static(p) => Some(p.weights()),
            _ => None,
        }
    }

    /// The fixed w1 of a two-task static point.
    pub fn static_w1(&self) -> Option<f64> {
        match self {
            StrategyPoint::Static(p) => p.as_w1(),
            _ => None,
        }
    }

    /// The point's label in tables and figures (what `--baseline` names): `static w1=0.3`,
    /// `static fv=0.2 ex=0.3 pose=0.5` (`names` are the task names), `l3`, `l3
    /// normalize_logits=true`.
    pub fn label(&self, names: &[&str]) -> String {
        match (self.static_weights(), self.detail()) {
            (Some(w), _) => static_label(&w, names),
            (None, d) if d.is_empty() => self.name().to_string(),
            (None, d) => format!("{} {d}", self.name()),
        }
    }

    /// The point in a run id: `static-w0.3`, `static-w0.2-0.3-0.5`, or the strategy's name.
    pub fn id(&self) -> String {
        match self {
            StrategyPoint::Static(p) => format!("static-{}", p.id()),
            _ => self.name().to_string(),
        }
    }

    /// Out-of-range settings; the field is relative to the entry.
    pub fn check(&self) -> Result<(), SettingsError> {
        self.settings().map_or(Ok(()), |s| s.check())
    }

    /// The settings that differ from the strategy's defaults, as `key=value` pairs (empty for
    /// static points and default settings; every setting of a registered strategy).
    pub fn detail(&self) -> String {
        let settings = match self {
            StrategyPoint::Registered(r) => Some(&r.settings),
            StrategyPoint::External(e) => Some(&e.settings),
            _ => None,
        };
        match settings {
            Some(settings) => match settings {
                serde_json::Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                serde_json::Value::Null => String::new(),
                v => v.to_string(),
            },
            None => self.settings().map_or(String::new(), |s| s.detail()),
        }
    }

    /// How the weight unit Ψ is built for this point.
    pub fn unit_config(&self) -> WeightUnitConfig {
        self.settings()
            .map_or(WeightUnitConfig::default(), |s| s.unit_config())
    }

    /// The built-in strategy this point runs; `None` for a registered one, which
    /// [`crate::train::Parts`] builds, and for a trainer's method, which runs in the trainer.
    pub fn build(&self, ctx: &BuildContext) -> Option<Box<dyn Strategy>> {
        match (self, self.settings()) {
            (_, Some(s)) => Some(s.build(ctx)),
            (StrategyPoint::Static(p), None) => Some(Box::new(StaticWeights::new(p.weights()))),
            (StrategyPoint::Registered(_) | StrategyPoint::External(_), None) => None,
            (_, None) => {
                unreachable!("only static, registered and external points have no settings")
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Fixtures shared by the strategies' tests.
    use super::*;
    use crate::model::WeightUnitConfig;
    use crate::rng::Rng;
    use burn::tensor::TensorData;

    /// An autodiff CPU device.
    pub fn device() -> Device {
        Device::flex().autodiff()
    }

    /// A `[batch, dim]` feature tensor drawn from `seed`.
    pub fn features(batch: usize, dim: usize, seed: u64, device: &Device) -> Tensor<2> {
        let mut rng = Rng::new(seed);
        let v: Vec<f32> = (0..batch * dim).map(|_| rng.normal() as f32).collect();
        Tensor::from_data(TensorData::new(v, vec![batch, dim]), device)
    }

    /// A weight unit with small random parameters, so that per-sample weights differ.
    pub fn unit(dim: usize, seed: u64, device: &Device) -> WeightUnit {
        let u = WeightUnitConfig::default().init(dim, 2, device);
        // seeded_init leaves biases at zero; that is fine, the weights make samples differ.
        crate::model::seeded_init(u, seed)
    }

    /// Constant task losses.
    pub fn losses(fv: f32, ex: f32, device: &Device) -> TaskLosses {
        losses_of(&[fv, ex], device)
    }

    /// Constant task losses, any number of them.
    pub fn losses_of(values: &[f32], device: &Device) -> TaskLosses {
        TaskLosses(
            values
                .iter()
                .map(|&v| Tensor::from_data(TensorData::new(vec![v], vec![1]), device))
                .collect(),
        )
    }

    /// The paper's two tasks.
    pub fn two() -> Tasks {
        Tasks::default()
    }

    /// Three tasks (the face model's fv, ex and pose).
    pub fn three() -> Tasks {
        serde_yaml::from_str("[fv, ex, pose]").unwrap()
    }

    /// A probe that must not be called.
    pub fn no_probe() -> SharedGradients {
        panic!("this strategy does not need shared-layer gradients")
    }

    /// `strategy`'s objective for constant losses, its raw weights read back as `f64`, and the
    /// loop's after-step call with the same losses.
    pub fn step(
        strategy: &mut dyn Strategy,
        fv: f64,
        ex: f64,
        probe: &dyn Fn() -> SharedGradients,
    ) -> (Objective, [f64; 2]) {
        let (obj, w) = step_n(strategy, &[fv, ex], probe);
        (obj, [w[0], w[1]])
    }

    /// [`step`] for any number of tasks (the face model's first ones).
    pub fn step_n(
        strategy: &mut dyn Strategy,
        values: &[f64],
        probe: &dyn Fn() -> SharedGradients,
    ) -> (Objective, Vec<f64>) {
        let device = device();
        let tasks = if values.len() == 2 { two() } else { three() };
        let unit = WeightUnitConfig::default().init(4, values.len(), &device);
        let unit = crate::model::seeded_init(unit, 1);
        let f32s: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let obj = strategy.objective(StepContext {
            z: features(4, 4, 1, &device),
            unit: &unit,
            losses: losses_of(&f32s, &device),
            tasks: &tasks,
            shared_gradients: probe,
        });
        let w = obj_weights(&obj);
        strategy.after_step(values);
        (obj, w)
    }

    /// The objective's raw weights as `f64`.
    pub fn obj_weights(obj: &Objective) -> Vec<f64> {
        obj.weights
            .clone()
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap()
    }

    /// One SGD step at `lr` of a zero-initialised unit over the single feature vector (1, 2)
    /// with fixed losses; returns w_fv after it. With a = ψ·z + b, a gradient g_j on logit j
    /// moves a_j by −lr · g_j · (|z|² + 1) = −6 lr g_j: the hand computations start there.
    pub fn one_step_from_zero(strategy: &mut dyn Strategy, fv: f32, ex: f32) -> f64 {
        use burn::optim::{GradientsParams, SgdConfig};
        let device = device();
        let z = Tensor::<2>::from_data(TensorData::new(vec![1f32, 2.0], vec![1, 2]), &device);
        let unit = WeightUnitConfig::default().init(2, 2, &device);
        let obj = strategy.objective(StepContext {
            z: z.clone(),
            unit: &unit,
            losses: losses(fv, ex, &device),
            tasks: &two(),
            shared_gradients: &no_probe,
        });
        let lr = strategy.unit_lr().unwrap();
        let grads = GradientsParams::from_grads(obj.loss.backward(), &unit);
        let unit = SgdConfig::new().init().step(lr, unit, grads);
        unit.forward(z)
            .weights
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap()[0]
    }

    /// σ(x).
    pub fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// Run `steps` SGD steps on the unit alone with fixed losses; return w_fv before and after.
    pub fn drive(strategy: &mut dyn Strategy, fv: f32, ex: f32, steps: usize) -> (f32, f32) {
        use burn::optim::{GradientsParams, SgdConfig};
        let device = device();
        let z = features(16, 8, 3, &device);
        let mut unit = unit(8, 5, &device);
        let mut optim = SgdConfig::new().init();
        let w_fv = |u: &WeightUnit| {
            u.forward(z.clone())
                .weights
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()[0]
        };
        let before = w_fv(&unit);
        for _ in 0..steps {
            let obj = strategy.objective(StepContext {
                z: z.clone(),
                unit: &unit,
                losses: losses(fv, ex, &device),
                tasks: &two(),
                shared_gradients: &no_probe,
            });
            let grads = GradientsParams::from_grads(obj.loss.backward(), &unit);
            unit = optim.step(strategy.unit_lr().unwrap(), unit, grads);
        }
        (before, w_fv(&unit))
    }
}
