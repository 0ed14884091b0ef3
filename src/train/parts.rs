//! [`Parts`]: what a job is built from beyond the built-in presets, strategies and datasets.
//! A program registers its own trunk, strategy and data source under names; an experiment
//! names them (`model: { trunk: NAME }`, `registered: { name: NAME }`, `registered: NAME`), and
//! the sweep runs them like built-in parts, with resume, logs and reports.

use std::collections::BTreeMap;
use std::sync::Arc;

use burn::prelude::*;

use super::{train_in_pool, TrainControl, TrainEvent, TrainOutput};
use crate::config::Job;
use crate::data::{DataSource, DatasetSource, DatasetSpec, FaceSet, Split, NOT_BUILT_IN};
use crate::error::{Error, Result};
use crate::model::{ModelConfig, SharedTrunk, Trunk, WeightUnitConfig};
use crate::strategy::{BuildContext, SettingsError, Strategy, StrategyPoint};

/// Builds a registered strategy from the settings an experiment gives it.
///
/// Any `Fn(&serde_json::Value, &BuildContext) -> Result<Box<dyn Strategy>, SettingsError>`
/// is one; implement the trait on a type of your own to give the strategy a weight unit other
/// than the default one.
pub trait StrategyBuilder: Send + Sync {
    /// The strategy for `settings` (`Null` when the experiment gives none); settings out of
    /// range are a [`SettingsError`] naming the field.
    fn build(
        &self,
        settings: &serde_json::Value,
        ctx: &BuildContext,
    ) -> std::result::Result<Box<dyn Strategy>, SettingsError>;

    /// How the weight unit Ψ is built for these settings.
    fn unit_config(&self, _settings: &serde_json::Value) -> WeightUnitConfig {
        WeightUnitConfig::default()
    }
}

impl<F> StrategyBuilder for F
where
    F: Fn(
            &serde_json::Value,
            &BuildContext,
        ) -> std::result::Result<Box<dyn Strategy>, SettingsError>
        + Send
        + Sync,
{
    fn build(
        &self,
        settings: &serde_json::Value,
        ctx: &BuildContext,
    ) -> std::result::Result<Box<dyn Strategy>, SettingsError> {
        self(settings, ctx)
    }
}

/// What a job's strategy may draw on when it is built.
fn build_context(job: &Job) -> BuildContext {
    BuildContext {
        seed: job.seed,
        theta_lr: job.train.lr,
        tasks: job.tasks.clone(),
    }
}

/// A strategy ready for one job: the strategy and how its weight unit is built.
pub(super) struct BuiltStrategy {
    pub(super) strategy: Box<dyn Strategy>,
    pub(super) unit: WeightUnitConfig,
}

/// Trains a job on a trunk of one type. Object-safe, so that trunks of different types share
/// one registry; [`Parts::trunk`] wraps a builder in it.
trait TrunkEntry: Send + Sync {
    fn train(
        &self,
        job: &Job,
        strategy: BuiltStrategy,
        data: &(FaceSet, Split),
        device: &Device,
        control: TrainControl<'_>,
        observe: &mut dyn FnMut(TrainEvent),
    ) -> Result<TrainOutput>;
}

/// A trunk builder: model settings, image side and device → the trunk.
struct TrunkFn<F>(F);

impl<T, F> TrunkEntry for TrunkFn<F>
where
    T: SharedTrunk,
    F: Fn(&ModelConfig, usize, &Device) -> T + Send + Sync,
{
    fn train(
        &self,
        job: &Job,
        strategy: BuiltStrategy,
        data: &(FaceSet, Split),
        device: &Device,
        control: TrainControl<'_>,
        observe: &mut dyn FnMut(TrainEvent),
    ) -> Result<TrainOutput> {
        let build = |device: &Device| (self.0)(&job.model, data.0.image_size, device);
        train_in_pool(job, &build, strategy, data, device, control, observe)
    }
}

/// The parts a sweep may use beyond the built-in ones, each under a name.
///
/// ```no_run
/// use weightlab::train::Parts;
/// # fn my_strategy(_: &serde_json::Value, _: &weightlab::strategy::BuildContext)
/// #   -> Result<Box<dyn weightlab::strategy::Strategy>, weightlab::strategy::SettingsError> { todo!() }
/// let parts = Parts::new().strategy("mine", my_strategy);
/// # let _ = parts;
/// ```
///
/// `examples/own_parts.rs` registers a trunk, a strategy and a data source and runs them as a
/// sweep.
#[derive(Clone, Default)]
pub struct Parts {
    trunks: BTreeMap<String, Arc<dyn TrunkEntry>>,
    strategies: BTreeMap<String, Arc<dyn StrategyBuilder>>,
    sources: BTreeMap<String, Arc<dyn DataSource>>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("trunks", &self.trunks.keys().collect::<Vec<_>>())
            .field("strategies", &self.strategies.keys().collect::<Vec<_>>())
            .field("sources", &self.sources.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Parts {
    /// The built-in parts only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a trunk under `name`, for `model: { trunk: NAME }`. `build` gets the model
    /// settings (the trunk must yield `z_dim` shared features), the image side and the device.
    ///
    /// # Panics
    ///
    /// When `name` is registered already: a program error, not bad input.
    pub fn trunk<T, F>(mut self, name: &str, build: F) -> Self
    where
        T: SharedTrunk,
        F: Fn(&ModelConfig, usize, &Device) -> T + Send + Sync + 'static,
    {
        let old = self
            .trunks
            .insert(name.to_string(), Arc::new(TrunkFn(build)));
        assert!(old.is_none(), "trunk `{name}` is registered twice");
        self
    }

    /// Register a strategy under `name`, for `registered: { name: NAME, settings: {...} }`.
    ///
    /// # Panics
    ///
    /// When `name` is registered already or names a built-in strategy.
    pub fn strategy(mut self, name: &str, build: impl StrategyBuilder + 'static) -> Self {
        let builtin = crate::strategy::StrategySpec::builtin_names();
        assert!(!builtin.contains(&name), "`{name}` is a built-in strategy");
        let old = self.strategies.insert(name.to_string(), Arc::new(build));
        assert!(old.is_none(), "strategy `{name}` is registered twice");
        self
    }

    /// Register a data source under `name`, for `datasets: [{ name: LABEL, registered: NAME }]`.
    ///
    /// # Panics
    ///
    /// When `name` is registered already.
    pub fn source(mut self, name: &str, source: impl DataSource + 'static) -> Self {
        let old = self.sources.insert(name.to_string(), Arc::new(source));
        assert!(old.is_none(), "data source `{name}` is registered twice");
        self
    }

    /// Whether every registered part that `jobs` name is here, and every registered
    /// strategy's settings build: the field and why not.
    pub fn check(&self, jobs: &[Job]) -> std::result::Result<(), SettingsError> {
        for job in jobs {
            if let Some(name) = &job.model.trunk {
                SettingsError::ensure(
                    self.trunks.contains_key(name),
                    "model.trunk",
                    format!("`{name}` is not registered; {NOT_BUILT_IN}"),
                )?;
            }
            if let DatasetSource::Registered(name) = &job.dataset.source {
                SettingsError::ensure(
                    self.sources.contains_key(name),
                    &format!("datasets[{}].registered", job.dataset.name),
                    format!("`{name}` is not registered; {NOT_BUILT_IN}"),
                )?;
            }
            if job.strategy.registered().is_some() {
                self.strategy_of(&job.strategy, &build_context(job))
                    .map(drop)?;
            }
        }
        Ok(())
    }

    /// Load the dataset `spec` names, from a built-in or a registered source.
    pub fn load(&self, spec: &DatasetSpec) -> Result<(FaceSet, Split)> {
        match &spec.source {
            DatasetSource::Registered(name) => match self.sources.get(name) {
                Some(source) => source.load(&spec.name),
                None => spec.load(),
            },
            _ => spec.load(),
        }
    }

    /// The strategy of `point`, built-in or registered.
    fn strategy_of(
        &self,
        point: &StrategyPoint,
        ctx: &BuildContext,
    ) -> std::result::Result<BuiltStrategy, SettingsError> {
        if let Some(strategy) = point.build(ctx) {
            return Ok(BuiltStrategy {
                strategy,
                unit: point.unit_config(),
            });
        }
        let r = point
            .registered()
            .expect("only registered points have no built-in strategy");
        let builder = self.strategies.get(&r.name).ok_or_else(|| SettingsError {
            field: "registered.name".into(),
            message: format!("`{}` is not registered; {NOT_BUILT_IN}", r.name),
        })?;
        // A refusal of the study's tasks is about `tasks:`, not the entry's settings.
        let strategy = builder.build(&r.settings, ctx).map_err(|e| SettingsError {
            field: if e.field == "tasks" {
                e.field
            } else {
                format!("registered.settings.{}", e.field)
            },
            message: e.message,
        })?;
        Ok(BuiltStrategy {
            strategy,
            unit: builder.unit_config(&r.settings),
        })
    }

    /// Train `job` inside the calling thread's compute pool.
    pub(super) fn train(
        &self,
        job: &Job,
        data: &(FaceSet, Split),
        device: &Device,
        control: TrainControl<'_>,
        observe: &mut dyn FnMut(TrainEvent),
    ) -> Result<TrainOutput> {
        let strategy = self
            .strategy_of(&job.strategy, &build_context(job))
            .map_err(|e| Error::Failed(format!("strategy: {}: {}", e.field, e.message)))?;
        match &job.model.trunk {
            None => {
                let build = |device: &Device| {
                    Trunk::new(job.model.preset, data.0.image_size, job.model.z_dim, device)
                };
                train_in_pool(job, &build, strategy, data, device, control, observe)
            }
            Some(name) => match self.trunks.get(name) {
                Some(entry) => entry.train(job, strategy, data, device, control, observe),
                None => Err(Error::Failed(format!(
                    "trunk `{name}` is not registered; {NOT_BUILT_IN}"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SynthConfig;
    use crate::model::SmallTrunk;
    use crate::strategy::StaticWeights;

    /// The job of an experiment whose trunk, data source and strategy are all registered.
    fn jobs() -> Vec<Job> {
        let yaml = "name: t\nseeds: [1]\ndatasets:\n  - name: d\n    registered: faces\n\
                    model: { trunk: tiny }\ntrain: { epochs: 1, batch_size: 4 }\n\
                    strategies:\n  - registered: { name: half, settings: { k: 2 } }\n";
        crate::config::expand(&crate::config::parse(yaml, "t.yaml").unwrap()).unwrap()
    }

    fn half(
        settings: &serde_json::Value,
        _: &BuildContext,
    ) -> std::result::Result<Box<dyn Strategy>, SettingsError> {
        let k = settings["k"].as_f64().unwrap_or(0.0);
        SettingsError::ensure(k < 2.0, "k", format!("must be < 2 (got {k})"))?;
        Ok(Box::new(StaticWeights::new(vec![0.5, 0.5])))
    }

    fn trunk(cfg: &ModelConfig, side: usize, device: &Device) -> SmallTrunk {
        SmallTrunk::new(side, cfg.z_dim, device)
    }

    #[test]
    fn every_missing_part_is_named_before_anything_runs() {
        let jobs = jobs();
        let err = |parts: &Parts| parts.check(&jobs).unwrap_err();
        let e = err(&Parts::new());
        assert_eq!(e.field, "model.trunk");
        assert!(e.message.contains("`tiny` is not registered"), "{e:?}");
        let parts = Parts::new().trunk("tiny", trunk);
        assert_eq!(err(&parts).field, "datasets[d].registered");
        let parts = parts.source("faces", SynthConfig::default());
        let e = err(&parts);
        assert_eq!(e.field, "registered.name");
        assert!(e.message.contains("`half` is not registered"), "{e:?}");
        // The builder sees the entry's settings, and its refusal names the field.
        let parts = parts.strategy("half", half);
        let e = err(&parts);
        assert_eq!(e.field, "registered.settings.k");
        assert_eq!(e.message, "must be < 2 (got 2)");
    }

    #[test]
    #[should_panic(expected = "is a built-in strategy")]
    fn a_built_in_strategy_name_cannot_be_registered() {
        let builtin = crate::strategy::StrategySpec::builtin_names()[1];
        let _ = Parts::new().strategy(builtin, half);
    }

    #[test]
    #[should_panic(expected = "trunk `tiny` is registered twice")]
    fn a_name_is_registered_once() {
        let _ = Parts::new().trunk("tiny", trunk).trunk("tiny", trunk);
    }

    #[test]
    fn a_registered_source_loads_under_the_entry_label() {
        let spec = jobs()[0].dataset.clone();
        let source = SynthConfig {
            identities: 8,
            test_identities: 3,
            expressions: 4,
            images_per_cell: 1,
            image_size: 16,
            ..SynthConfig::default()
        };
        let (set, split) = Parts::new().source("faces", source).load(&spec).unwrap();
        assert_eq!((set.name.as_str(), set.len()), ("d", 8 * 4));
        assert_eq!(split.n_train_subjects, 5);
        let err = spec.load().unwrap_err().to_string();
        assert!(err.contains("`faces` is not a built-in source"), "{err}");
    }
}
