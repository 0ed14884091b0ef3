//! Expansion of an experiment into jobs: datasets × strategy points × seeds, each with a run
//! id derived from its resolved config (same config → same id; any change → a new id).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Experiment, LogConfig};
use super::{TrainConfig, TrainerConfig};
use crate::data::DatasetSpec;
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use crate::strategy::StrategyPoint;
use crate::task::Tasks;

/// Everything that determines a job's results: what `run.yaml` holds and the run id hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolvedJob {
    /// The tasks; left out for the paper's two, so that their run ids keep their hashes.
    #[serde(default, skip_serializing_if = "Tasks::is_default")]
    pub tasks: Tasks,
    /// The trainer process, when the job is not weightlab's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trainer: Option<TrainerConfig>,
    /// The dataset.
    pub dataset: DatasetSpec,
    /// The strategy point.
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    pub strategy: StrategyPoint,
    /// Training seed.
    pub seed: u64,
    /// The network.
    pub model: ModelConfig,
    /// Training settings.
    pub train: TrainConfig,
    /// Logging settings.
    pub log: LogConfig,
}

/// One training job of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Position in the sweep's job list (what `sweep job --index` takes).
    pub index: usize,
    /// Stable id, e.g. `synth-static-w0.3-s1-1a2b3c4d`.
    pub run_id: String,
    /// Hex SHA-256 of the resolved config.
    pub config_hash: String,
    /// The tasks.
    pub tasks: Tasks,
    /// The trainer process, when the job is not weightlab's own.
    pub trainer: Option<TrainerConfig>,
    /// The dataset.
    pub dataset: DatasetSpec,
    /// The strategy point.
    pub strategy: StrategyPoint,
    /// Training seed.
    pub seed: u64,
    /// The network.
    pub model: ModelConfig,
    /// Training settings.
    pub train: TrainConfig,
    /// Logging settings.
    pub log: LogConfig,
}

impl Job {
    /// Whether a file that records `config_hash` (a status, a checkpoint) belongs to this job:
    /// a run folder can hold the files of an earlier config under the same run id prefix.
    pub fn owns(&self, config_hash: &str) -> bool {
        self.config_hash == config_hash
    }

    /// The resolved config, as saved in `run.yaml`.
    pub fn resolved(&self) -> ResolvedJob {
        ResolvedJob {
            tasks: self.tasks.clone(),
            trainer: self.trainer.clone(),
            dataset: self.dataset.clone(),
            strategy: self.strategy.clone(),
            seed: self.seed,
            model: self.model.clone(),
            train: self.train.clone(),
            log: self.log.clone(),
        }
    }
}

impl ResolvedJob {
    /// The config with what does not change results set to fixed values: `train.threads` and
    /// `train.checkpoint_every` change speed and what survives a kill, and a sweep resumed with
    /// another setting should not redo finished jobs.
    fn canonical(&self) -> Self {
        let mut canonical = self.clone();
        canonical.train.threads = 0;
        canonical.train.checkpoint_every = 1;
        canonical.trainer = self.trainer.as_ref().map(TrainerConfig::canonical);
        canonical
    }

    /// The key of the job's strategy point: its canonical config without the seed, the same
    /// for every seed of one point (reports group jobs by it).
    pub fn point_key(&self) -> String {
        let mut key = self.canonical();
        key.seed = 0;
        serde_json::to_string(&key).unwrap_or_default()
    }
}

/// Hash of what determines the results (see [`ResolvedJob::point_key`] for what is left out).
/// A config that cannot be serialised (a path that is not UTF-8) is an error rather than a hash
/// of nothing, which every such job would share.
pub fn config_hash(job: &ResolvedJob) -> Result<String> {
    let canonical = job.canonical();
    let json = serde_json::to_vec(&canonical).map_err(|e| {
        Error::input(
            format!("datasets: {}", job.dataset.name),
            "(resolved config)",
            format!("cannot serialise the job's config to hash it: {e}"),
        )
    })?;
    Ok(Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Expand `exp` into its jobs, in YAML order (dataset, then strategy point, then seed).
/// Points that resolve to the same config collapse into one job.
pub fn expand(exp: &Experiment) -> Result<Vec<Job>> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for dataset in &exp.datasets {
        for spec in &exp.strategies {
            for strategy in spec.points(&exp.tasks) {
                for &seed in &exp.seeds {
                    let resolved = ResolvedJob {
                        tasks: exp.tasks.clone(),
                        trainer: exp.trainer.clone(),
                        dataset: dataset.clone(),
                        strategy: strategy.clone(),
                        seed,
                        model: exp.model.clone(),
                        train: exp.train.clone(),
                        log: exp.log.clone(),
                    };
                    let hash = config_hash(&resolved)?;
                    let run_id =
                        format!("{}-{}-s{seed}-{}", dataset.name, strategy.id(), &hash[..8]);
                    if !seen.insert(run_id.clone()) {
                        continue;
                    }
                    jobs.push(Job {
                        index: jobs.len(),
                        run_id,
                        config_hash: hash,
                        tasks: exp.tasks.clone(),
                        trainer: exp.trainer.clone(),
                        dataset: dataset.clone(),
                        strategy: strategy.clone(),
                        seed,
                        model: exp.model.clone(),
                        train: exp.train.clone(),
                        log: exp.log.clone(),
                    });
                }
            }
        }
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn manifest_job(csv: &[u8]) -> ResolvedJob {
        let exp = crate::config::parse(
            "name: h\ndatasets:\n  - name: synth\n    synthetic: { identities: 8, test_identities: 2 }\nstrategies:\n  - equal: {}\n",
            "h.yaml",
        )
        .unwrap();
        let mut job = expand(&exp).unwrap()[0].resolved();
        job.dataset.source = crate::data::DatasetSource::Manifest(crate::data::ManifestConfig {
            csv: std::ffi::OsStr::from_bytes(csv).into(),
            folds: 10,
            fold: 0,
            val_fold: None,
            image_size: 64,
            split_seed: 0,
            crop: None,
            on_bad_image: Default::default(),
        });
        job
    }

    #[test]
    fn an_unhashable_config_is_an_error_not_a_shared_id() {
        // Two different non-UTF-8 paths: before, both hashed the empty byte string.
        let a = config_hash(&manifest_job(b"/data/\xff.csv"));
        let b = config_hash(&manifest_job(b"/data/\xfe.csv"));
        assert!(matches!(a, Err(Error::Input { .. })), "{a:?}");
        assert!(b.is_err());
        let ok = config_hash(&manifest_job(b"/data/a.csv")).unwrap();
        assert_ne!(ok, config_hash(&manifest_job(b"/data/b.csv")).unwrap());
    }
}
