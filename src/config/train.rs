//! Training settings (`train:` in the experiment YAML): epochs, batches, optimisers, the
//! center loss and compute threads.

use serde::{Deserialize, Serialize};

/// An optimiser (of Θ with `train.optimizer`, of Ψ with `train.unit_optimizer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam (β = 0.9, 0.999).
    Adam,
    /// Plain SGD.
    Sgd,
    /// RMSProp, as in the authors' code.
    Rmsprop,
}

/// Training settings (`train:` in the experiment YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Number of epochs (≥ 1).
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Mini-batch size.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Optimiser of Θ.
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    /// Learning rate of Θ.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Optimiser of the weight unit Ψ (its learning rate is the strategy's `lr`). SGD by
    /// default: Adam's per-parameter normalisation turns the small L3 gradient into a full-size
    /// step and saturates the softmax at a vertex within one step, where w1·w2 ≈ 0 stops it.
    #[serde(default = "default_unit_optimizer")]
    pub unit_optimizer: OptimizerKind,
    /// Center loss inside L1.
    #[serde(default)]
    pub center_loss: CenterLossConfig,
    /// Compute threads per job.
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Write a checkpoint after every this many epochs (and after the last); 0 writes none.
    /// It changes what survives a kill, not the results, so it is left out of the run id, and
    /// out of `run.yaml` at its default.
    #[serde(
        default = "default_checkpoint_every",
        skip_serializing_if = "is_default_every"
    )]
    pub checkpoint_every: usize,
}

fn default_checkpoint_every() -> usize {
    1
}
fn is_default_every(every: &usize) -> bool {
    *every == default_checkpoint_every()
}

fn default_epochs() -> usize {
    20
}
fn default_batch() -> usize {
    64
}
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adam
}
fn default_lr() -> f64 {
    0.001
}
fn default_unit_optimizer() -> OptimizerKind {
    OptimizerKind::Sgd
}
fn default_threads() -> usize {
    1
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: default_epochs(),
            batch_size: default_batch(),
            optimizer: default_optimizer(),
            lr: default_lr(),
            unit_optimizer: default_unit_optimizer(),
            center_loss: CenterLossConfig::default(),
            threads: default_threads(),
            checkpoint_every: default_checkpoint_every(),
        }
    }
}

/// Center-loss settings (`train.center_loss:` in the YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CenterLossConfig {
    /// Weight α of the center loss inside L1.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Center momentum β: c ← c − (1 − β)(c − batch class mean).
    #[serde(default = "default_beta")]
    pub beta: f64,
}

fn default_alpha() -> f64 {
    0.1
}
fn default_beta() -> f64 {
    0.5
}

impl Default for CenterLossConfig {
    fn default() -> Self {
        Self {
            alpha: default_alpha(),
            beta: default_beta(),
        }
    }
}
