//! One job, trained top to bottom: data → model → strategy → step → evaluation → log rows.
//!
//! Each step: forward Θ → task losses (L1 with center loss, L2) → the strategy's objective →
//! backward → Θ's gradients to Θ's optimiser, Ψ's gradients to Ψ's optimiser (when the
//! strategy trains the unit) → center update → the step's loss values to the strategy. After
//! each epoch: the epoch-mean losses to the strategy, evaluation on a validation copy of Θ.
//! The loop never names a strategy.

pub mod eval;
pub mod losses;

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, RmsPropConfig, SgdConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use crate::config::Job;
use crate::data::pairs::{verification_pairs, Pair};
use crate::data::{FaceSet, Split};
use crate::error::{Error, Result};
use crate::model::{MultiTaskNet, Outputs};
use crate::rng::Rng;
use crate::runlog::{EpochRow, StepRow};
use crate::strategy::{BuildContext, SharedGradients, StepContext, TaskLosses};
pub use eval::{evaluate, Evaluation};
pub use losses::{CenterLoss, CenterLossConfig};

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
        }
    }
}

impl OptimizerKind {
    fn init(self) -> ModuleOptimizer {
        match self {
            OptimizerKind::Adam => AdamConfig::new().init(),
            OptimizerKind::Sgd => SgdConfig::new().init(),
            OptimizerKind::Rmsprop => RmsPropConfig::new().init(),
        }
    }
}

/// What a running job reports, for progress bars.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// A step finished.
    Step {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based global step.
        step: usize,
        /// Steps per epoch.
        steps_per_epoch: usize,
        /// This step's w_fv.
        w_fv: f64,
        /// This step's L1.
        loss_fv: f64,
        /// This step's L2.
        loss_ex: f64,
    },
    /// An epoch finished and was evaluated.
    Epoch(EpochRow),
}

/// Everything a finished job produced.
#[derive(Debug, Clone)]
pub struct TrainOutput {
    /// One row per epoch.
    pub epochs: Vec<EpochRow>,
    /// One row per logged step.
    pub steps: Vec<StepRow>,
    /// The verification pairs used for evaluation.
    pub pairs: Vec<Pair>,
    /// Seconds spent in training steps.
    pub train_s: f64,
    /// Seconds spent in evaluation.
    pub eval_s: f64,
}

/// Seed of the verification pairs: fixed, so every job of a dataset is scored on the same pairs.
const PAIRS_SEED: u64 = 0x5EED;

/// `[batch, 1, s, s]` images of `indices`, standardised to roughly zero mean, unit spread.
pub fn batch_images(set: &FaceSet, indices: &[usize], device: &Device) -> Tensor<4> {
    let s = set.image_size;
    let mut v = Vec::with_capacity(indices.len() * s * s);
    for &i in indices {
        v.extend(set.image(i).iter().map(|p| (p - 0.5) * 4.0));
    }
    Tensor::from_data(TensorData::new(v, vec![indices.len(), 1, s, s]), device)
}

/// L1 (identity cross-entropy + center loss) and L2 (expression cross-entropy) of one forward
/// pass, for one-hot identity and expression labels.
pub fn task_losses(
    o: &Outputs,
    id_1h: &Tensor<2>,
    ex_1h: &Tensor<2>,
    centers: &CenterLoss,
) -> TaskLosses {
    TaskLosses {
        fv: losses::cross_entropy(o.identity_logits.clone(), id_1h.clone())
            + centers.loss(o.embedding.clone(), id_1h.clone()),
        ex: losses::cross_entropy(o.expression_logits.clone(), ex_1h.clone()),
    }
}

/// The task losses and ‖∇_W L_i‖ on the last shared layer W, from restarts of the forward
/// pass at the detached input of that layer: each probe graph spans the last shared layer and
/// the branches only, and the step's own graph is left untouched. One restart per task, since
/// a backward pass consumes the graph it runs on.
pub fn shared_gradients(
    net: &MultiTaskNet,
    features: &Tensor<2>,
    id_1h: &Tensor<2>,
    ex_1h: &Tensor<2>,
    centers: &CenterLoss,
) -> SharedGradients {
    let weight = net.last_shared_weight();
    let measure = |pick: fn(TaskLosses) -> Tensor<1>| {
        let probe = net.forward_from_features(features.clone().detach());
        let loss = pick(task_losses(&probe, id_1h, ex_1h, centers));
        let value = loss.clone().detach().into_scalar::<f64>();
        let norm = weight.grad(&loss.backward()).map_or(f64::NAN, |g| {
            g.powf_scalar(2.0).sum().sqrt().into_scalar::<f64>()
        });
        (value, norm)
    };
    let (fv, fv_norm) = measure(|l| l.fv);
    let (ex, ex_norm) = measure(|l| l.ex);
    SharedGradients {
        losses: [fv, ex],
        norms: [fv_norm, ex_norm],
    }
}

fn check_finite(values: &[(&str, f64)], epoch: usize, step: usize) -> Result<()> {
    match values.iter().find(|(_, v)| !v.is_finite()) {
        Some((what, _)) => Err(Error::NonFinite {
            what: what.to_string(),
            epoch,
            step,
        }),
        None => Ok(()),
    }
}

/// Images per forward pass of evaluation: no gradients are kept, so larger batches than
/// training's only cost activations.
pub const EVAL_BATCH: usize = 256;

thread_local! {
    /// The compute pool of the jobs this thread runs, kept from one job to the next.
    static COMPUTE_POOL: std::cell::RefCell<Option<std::sync::Arc<rayon::ThreadPool>>> =
        const { std::cell::RefCell::new(None) };
}

/// A pool of `threads` compute threads for the calling thread's jobs. A sweep worker runs job
/// after job: a fresh pool per job gave each job new threads, and the allocator a new arena per
/// new thread, which it keeps; a 33-job sweep grew to 610 MB where one job needs 70 MB.
fn compute_pool(threads: usize) -> Result<std::sync::Arc<rayon::ThreadPool>> {
    COMPUTE_POOL.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some(pool) = cell.as_ref().filter(|p| p.current_num_threads() == threads) {
            return Ok(pool.clone());
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Failed(format!("cannot start compute threads: {e}")))?;
        Ok(cell.insert(std::sync::Arc::new(pool)).clone())
    })
}

/// Train `job` on `data` with `device` (a plain device; autodiff is enabled here), in a pool of
/// `job.train.threads` compute threads. `observe` receives progress events.
pub fn train_job(
    job: &Job,
    data: &(FaceSet, Split),
    device: &Device,
    observe: &mut dyn FnMut(TrainEvent),
) -> Result<TrainOutput> {
    let pool = compute_pool(job.train.threads.max(1))?;
    // Training runs inside the job's own pool; its events come back over a channel so that
    // `observe` (progress bars, an event sink) stays on the caller's thread.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            pool.install(|| {
                train_in_pool(job, data, device, &mut |e| {
                    let _ = tx.send(e);
                })
            })
        });
        for event in rx {
            observe(event);
        }
        worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

fn train_in_pool(
    job: &Job,
    (set, split): &(FaceSet, Split),
    device: &Device,
    observe: &mut dyn FnMut(TrainEvent),
) -> Result<TrainOutput> {
    let started = Instant::now();
    let plain = device.clone();
    let device = device.clone().autodiff();
    let n_ids = split.n_train_subjects;
    let n_expr = set.expression_names.len();
    let cfg = &job.train;

    // Θ, Ψ, their optimisers, the strategy and the center-loss state.
    let mut net = job
        .model
        .init(set.image_size, n_ids, n_expr, job.seed, &device);
    let mut unit = job.strategy.unit_config().init(job.model.z_dim, 2, &device);
    let mut theta_optim = cfg.optimizer.init();
    let mut psi_optim = cfg.unit_optimizer.init();
    let mut strategy = job.strategy.build(&BuildContext {
        seed: job.seed,
        theta_lr: cfg.lr,
    });
    let mut centers = CenterLoss::new(
        n_ids,
        job.model.embedding_dim,
        cfg.center_loss.clone(),
        &device,
    );
    let pairs = verification_pairs(set, &split.test, PAIRS_SEED);

    let steps_per_epoch = split.train.len().div_ceil(cfg.batch_size);
    let mut out = TrainOutput {
        epochs: Vec::new(),
        steps: Vec::new(),
        pairs: pairs.clone(),
        train_s: 0.0,
        eval_s: 0.0,
    };
    let mut step = 0usize;
    for epoch in 1..=cfg.epochs {
        let epoch_start = Instant::now();
        let mut order: Vec<usize> = (0..split.train.len()).collect();
        Rng::derive(job.seed, epoch as u64).shuffle(&mut order);
        // Sums of raw w_fv, raw w_ex, L1, L2, total, L3, w_fv, w_ex over the epoch's steps.
        let mut sums = [0f64; 8];
        let mut has_extra = false;
        for batch in order.chunks(cfg.batch_size) {
            step += 1;
            let indices: Vec<usize> = batch.iter().map(|&k| split.train[k]).collect();
            let ids: Vec<u32> = batch.iter().map(|&k| split.train_labels[k]).collect();
            let exprs: Vec<u32> = indices.iter().map(|&i| set.expressions[i]).collect();
            let id_1h = losses::one_hot(&ids, n_ids, &device);
            let ex_1h = losses::one_hot(&exprs, n_expr, &device);

            // Forward Θ and the task losses.
            let o = net.forward(batch_images(set, &indices, &device));
            let task = task_losses(&o, &id_1h, &ex_1h, &centers);

            // The strategy weighs them and routes the gradients.
            let objective = strategy.objective(StepContext {
                z: o.z.clone(),
                unit: &unit,
                losses: task.clone(),
                shared_gradients: &|| shared_gradients(&net, &o.features, &id_1h, &ex_1h, &centers),
            });

            // One read-back per step for logging and the finiteness check.
            let mut logged = vec![
                objective.weights.clone().detach(),
                task.fv.detach(),
                task.ex.detach(),
            ];
            logged.push(objective.total.clone().detach());
            if let Some(extra) = &objective.extra {
                logged.push(extra.clone().detach());
            }
            let v: Vec<f64> = Tensor::cat(logged, 0)
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .map_err(|e| Error::Failed(format!("cannot read losses back: {e:?}")))?;
            let extra = v.get(5).copied();
            // The weights normalised to sum 1, comparable across strategies.
            let (w_fv, w_ex) = (v[0] / (v[0] + v[1]), v[1] / (v[0] + v[1]));
            let mut checks = vec![
                ("raw_w_fv", v[0]),
                ("raw_w_ex", v[1]),
                ("w_fv", w_fv),
                ("w_ex", w_ex),
                ("loss_fv", v[2]),
                ("loss_ex", v[3]),
                ("loss_total", v[4]),
            ];
            if let Some(x) = extra {
                checks.push(("loss_l3", x));
            }
            check_finite(&checks, epoch, step)?;

            // Backward; Θ's and Ψ's gradients go to their own optimisers.
            let mut grads = objective.loss.backward();
            let psi_grads = GradientsParams::from_module(&mut grads, &unit);
            let theta_grads = GradientsParams::from_module(&mut grads, &net);
            net = theta_optim.step(cfg.lr, net, theta_grads);
            if let Some(unit_lr) = strategy.unit_lr() {
                unit = psi_optim.step(unit_lr, unit, psi_grads);
            }
            centers.update(o.embedding, id_1h);
            strategy.after_step([v[2], v[3]]);

            for (s, x) in sums.iter_mut().zip(v.iter()) {
                *s += x;
            }
            sums[6] += w_fv;
            sums[7] += w_ex;
            has_extra |= extra.is_some();
            if job.log.every_steps > 0 && step.is_multiple_of(job.log.every_steps) {
                out.steps.push(StepRow {
                    epoch,
                    step,
                    w_fv,
                    w_ex,
                    loss_fv: v[2],
                    loss_ex: v[3],
                    raw_w_fv: v[0],
                    raw_w_ex: v[1],
                });
            }
            observe(TrainEvent::Step {
                epoch,
                step,
                steps_per_epoch,
                w_fv,
                loss_fv: v[2],
                loss_ex: v[3],
            });
        }
        let n = steps_per_epoch as f64;
        strategy.end_epoch([sums[2] / n, sums[3] / n]);
        out.train_s += epoch_start.elapsed().as_secs_f64();

        // Evaluate a validation copy of Θ (no autodiff).
        let eval_start = Instant::now();
        let scores = evaluate(&net.valid(), set, &split.test, &pairs, EVAL_BATCH, &plain);
        out.eval_s += eval_start.elapsed().as_secs_f64();

        let row = EpochRow {
            run_id: job.run_id.clone(),
            dataset: job.dataset.name.clone(),
            strategy: job.strategy.name().to_string(),
            static_w1: job.strategy.static_w1(),
            seed: job.seed as i64,
            epoch: epoch as i64,
            w_fv: sums[6] / n,
            w_ex: sums[7] / n,
            loss_fv: sums[2] / n,
            loss_ex: sums[3] / n,
            loss_total: sums[4] / n,
            loss_l3: has_extra.then(|| sums[5] / n),
            fv_acc: scores.fv_acc,
            ex_acc: scores.ex_acc,
            elapsed_s: started.elapsed().as_secs_f64(),
            raw_w_fv: sums[0] / n,
            raw_w_ex: sums[1] / n,
        };
        observe(TrainEvent::Epoch(row.clone()));
        out.epochs.push(row);
    }
    Ok(out)
}
