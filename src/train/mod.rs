//! One job, trained top to bottom: data → model → strategy → step → evaluation → metrics.
//!
//! Each step: a batch → forward Θ → the task losses (one per task, from its head: see
//! [`FaceTasks`]) → the strategy's objective → backward → Θ's gradients to Θ's optimiser, Ψ's gradients to Ψ's optimiser (when
//! the strategy trains the unit) → center update → the step's [`StepMetrics`]. After each
//! epoch: the epoch-mean losses to the strategy, evaluation on a validation copy of Θ, the
//! epoch's [`EpochMetrics`]. The loop never names a strategy and writes no file: the sweep turns
//! its metrics into log rows.

pub mod checkpoint;
pub mod eval;
pub mod heads;
pub mod losses;
mod metrics;
mod parts;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, RmsPropConfig, SgdConfig};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::TensorData;

use crate::config::{Job, OptimizerKind};
use crate::data::pairs::{verification_pairs, Pair};
use crate::data::{FaceSet, Split};
use crate::error::{Error, Result};
pub use crate::metrics::Rows;
use crate::metrics::{EpochMeans, EpochMetrics, StepMetrics};
use crate::model::{MultiTaskNet, SharedTrunk, WeightUnit};
use crate::rng::Rng;
use crate::strategy::{SharedGradients, StepContext, Strategy};
pub use checkpoint::{Checkpoint, CheckpointHeader, PartialEpoch};
pub use eval::evaluate;
pub use heads::{FaceTasks, Labels};
pub use losses::CenterLoss;
pub use metrics::{read_back, StepValues};
use parts::BuiltStrategy;
pub use parts::{Parts, StrategyBuilder};

/// What a running job reports, for progress bars and event sinks.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// A step finished.
    Step(StepMetrics),
    /// An epoch finished and was evaluated.
    Epoch(EpochMetrics),
    /// A checkpoint was taken (after an epoch, or on a stop request), with the rows logged
    /// since the previous one: the caller appends the rows to the job's progress log, then
    /// stores the checkpoint, which counts them.
    Checkpoint(Box<Checkpoint>, Rows),
}

/// Where a job resumes: its checkpoint and the rows that checkpoint counts.
#[derive(Debug, Clone)]
pub struct Resume {
    /// The checkpoint (its config hash must be the job's).
    pub checkpoint: Checkpoint,
    /// The first `logged_epochs` epoch rows and `logged_steps` step rows of the job.
    pub rows: Rows,
}

/// How a job runs beyond its config: where it resumes and when it stops.
#[derive(Debug, Default)]
pub struct TrainControl<'a> {
    /// A checkpoint of this job to continue from, with its rows.
    pub resume: Option<Resume>,
    /// Raised by a stop signal: the loop finishes its step, emits a checkpoint and returns
    /// [`Error::Interrupted`].
    pub stop: Option<&'a AtomicBool>,
    /// Keep each step's weights and losses on the device and read them back once per epoch
    /// (a GPU then synchronises once per epoch, not once per step). Strategies that need every
    /// step's losses on the host (uncertainty) are still read each step.
    pub deferred_read_back: bool,
}

/// The trained Θ and Ψ, in burn's record format.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedModel {
    /// Θ's record.
    pub theta: Vec<u8>,
    /// Ψ's record.
    pub psi: Vec<u8>,
}

/// Everything a finished job produced.
#[derive(Debug, Clone)]
pub struct TrainOutput {
    /// One entry per epoch.
    pub epochs: Vec<EpochMetrics>,
    /// The steps `log.every_steps` keeps.
    pub steps: Vec<StepMetrics>,
    /// What Θ was built for.
    pub shape: crate::model::NetShape,
    /// The verification pairs used for evaluation.
    pub pairs: Vec<Pair>,
    /// Seconds spent in training steps.
    pub train_s: f64,
    /// Seconds spent in evaluation.
    pub eval_s: f64,
    /// The trained model.
    pub model: TrainedModel,
    /// Transfers of step values from the device (one per step, or one per epoch deferred).
    pub read_backs: usize,
}

/// Seed of the verification pairs: fixed, so every job of a dataset is scored on the same pairs.
const PAIRS_SEED: u64 = 0x5EED;

/// The verification pairs every job of a dataset is scored on.
pub fn evaluation_pairs(set: &FaceSet, split: &Split) -> Vec<Pair> {
    verification_pairs(set, &split.test, PAIRS_SEED)
}

/// A trained Θ on a built-in trunk rebuilt from its config, shape and seed and loaded from its
/// record `theta`, on `device` without autodiff (for evaluation).
pub fn load_model(
    model: &crate::model::ModelConfig,
    shape: crate::model::NetShape,
    seed: u64,
    theta: &[u8],
    device: &Device,
) -> Result<MultiTaskNet> {
    if let Some(name) = &model.trunk {
        return Err(Error::input(
            "RUN",
            "model.trunk",
            format!(
                "`{name}` is a registered trunk; {}",
                crate::data::NOT_BUILT_IN
            ),
        ));
    }
    let net = model.init(shape, seed, device);
    load_module(net, theta)
        .map_err(|e| Error::Failed(format!("cannot load the trained model: {e}")))
}

/// `[batch, 1, s, s]` images of `indices`, standardised to roughly zero mean, unit spread.
pub fn batch_images(set: &FaceSet, indices: &[usize], device: &Device) -> Tensor<4> {
    let s = set.image_size;
    let mut v = Vec::with_capacity(indices.len() * s * s);
    for &i in indices {
        v.extend(set.image(i).iter().map(|p| (p - 0.5) * 4.0));
    }
    Tensor::from_data(TensorData::new(v, vec![indices.len(), 1, s, s]), device)
}

/// The task losses and ‖∇_W L_i‖ on the last shared layer W, from restarts of the forward
/// pass at the detached input of that layer: each probe graph spans the last shared layer and
/// the heads only, and the step's own graph is left untouched. One restart per task, since a
/// backward pass consumes the graph it runs on.
pub fn shared_gradients<T: SharedTrunk>(
    net: &MultiTaskNet<T>,
    features: &Tensor<2>,
    labels: &Labels,
    centers: &CenterLoss,
    face: &FaceTasks,
) -> SharedGradients {
    let weight = net.last_shared_weight();
    let (losses, norms) = face
        .heads
        .iter()
        .map(|&head| {
            let probe = net.forward_from_features(features.clone().detach());
            let loss = heads::head_loss(head, &probe, labels, centers);
            let value = loss.clone().detach().into_scalar::<f64>();
            let norm = weight.grad(&loss.backward()).map_or(f64::NAN, |g| {
                g.powf_scalar(2.0).sum().sqrt().into_scalar::<f64>()
            });
            (value, norm)
        })
        .unzip();
    SharedGradients { losses, norms }
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
/// after job, and a fresh pool per job would start new threads each time; the allocator keeps
/// an arena per thread it has seen, so memory would grow with the number of jobs.
fn compute_pool(threads: usize) -> Result<std::sync::Arc<rayon::ThreadPool>> {
    COMPUTE_POOL.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some(pool) = cell.as_ref().filter(|p| p.current_num_threads() == threads) {
            return Ok(pool.clone());
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Backend(format!("cannot start compute threads: {e}")))?;
        Ok(cell.insert(std::sync::Arc::new(pool)).clone())
    })
}

/// Train `job` with `parts` (its trunk, strategy and data source, built-in or registered) on
/// `data` with `device` (a plain device; autodiff is enabled here), in a pool of
/// `job.train.threads` compute threads. `observe` receives progress events.
pub fn train_job(
    job: &Job,
    parts: &Parts,
    data: &(FaceSet, Split),
    device: &Device,
    control: TrainControl<'_>,
    observe: &mut dyn FnMut(TrainEvent),
) -> Result<TrainOutput> {
    let pool = compute_pool(job.train.threads.max(1))?;
    // Training runs inside the job's own pool; its events come back over a channel so that
    // `observe` (progress bars, an event sink) stays on the caller's thread. Training waits
    // until a checkpoint has been handled (stored), so that a kill loses at most the epoch in
    // progress.
    let (tx, rx) = std::sync::mpsc::channel::<(TrainEvent, Option<std::sync::mpsc::Sender<()>>)>();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            pool.install(|| {
                parts.train(job, data, device, control, &mut |e| {
                    if matches!(e, TrainEvent::Checkpoint(..)) {
                        let (done_tx, done_rx) = std::sync::mpsc::channel();
                        if tx.send((e, Some(done_tx))).is_ok() {
                            let _ = done_rx.recv();
                        }
                    } else {
                        let _ = tx.send((e, None));
                    }
                })
            })
        });
        for (event, done) in rx {
            observe(event);
            if let Some(done) = done {
                let _ = done.send(());
            }
        }
        worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// The order in which epoch `epoch` visits the `n` training images. It depends on the seed and
/// the epoch only, so every strategy of one seed sees the same batches in the same order.
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    Rng::derive(seed, epoch as u64).shuffle(&mut order);
    order
}

/// Train `job` on the trunk `build` makes, with `strategy`, inside the calling thread's pool.
fn train_in_pool<T: SharedTrunk>(
    job: &Job,
    build: &dyn Fn(&Device) -> T,
    strategy: BuiltStrategy,
    (set, split): &(FaceSet, Split),
    device: &Device,
    control: TrainControl<'_>,
    observe: &mut dyn FnMut(TrainEvent),
) -> Result<TrainOutput> {
    let plain = device.clone();
    let device = device.clone().autodiff();
    let cfg = &job.train;
    let face = FaceTasks::new(&job.tasks, set, split)?;
    let shape = face.shape(set, split);
    let net = MultiTaskNet::new(build(&device), &job.model, shape, job.seed, &device);
    let mut learner = Learner::new(job, net, strategy, split.n_train_subjects, &device);
    let pairs = evaluation_pairs(set, split);
    let val_pairs = verification_pairs(set, &split.val, PAIRS_SEED);
    let mut out = TrainOutput {
        epochs: Vec::new(),
        steps: Vec::new(),
        shape,
        pairs: pairs.clone(),
        train_s: 0.0,
        eval_s: 0.0,
        model: TrainedModel {
            theta: Vec::new(),
            psi: Vec::new(),
        },
        read_backs: 0,
    };
    let defer = control.deferred_read_back && !learner.strategy.needs_step_losses();
    let mut pending: Vec<StepValues> = Vec::new();
    let (mut step, mut first_epoch, mut partial, mut started) = (0, 1, None, Instant::now());
    // Rows already handed out with a checkpoint (see TrainEvent::Checkpoint).
    let mut handed = (0, 0);
    if let Some(Resume {
        checkpoint: ck,
        rows,
    }) = control.resume
    {
        if !job.owns(&ck.header.config_hash) {
            return Err(Error::Checkpoint("it belongs to another config".into()));
        }
        if (rows.epochs.len(), rows.steps.len())
            != (ck.header.logged_epochs, ck.header.logged_steps)
        {
            return Err(Error::Checkpoint(
                "its rows are not the ones it counts".into(),
            ));
        }
        learner = learner.restore(&ck)?;
        let h = ck.header;
        (step, first_epoch, partial) = (h.step, h.epoch + 1, h.partial);
        (out.epochs, out.steps, out.train_s, out.eval_s) =
            (rows.epochs, rows.steps, h.train_s, h.eval_s);
        handed = (out.epochs.len(), out.steps.len());
        // Elapsed time runs on across attempts.
        started = Instant::now()
            .checked_sub(Duration::from_secs_f64(h.elapsed_s))
            .unwrap_or_else(Instant::now);
    }
    let stop = || control.stop.is_some_and(|s| s.load(Ordering::SeqCst));
    for epoch in first_epoch..=cfg.epochs {
        let epoch_start = Instant::now();
        // A resumed epoch continues after the batches its checkpoint had trained.
        let (mut means, skip) = match partial.take() {
            Some(PartialEpoch {
                batches_done,
                means,
            }) => (means, batches_done),
            None => (EpochMeans::default(), 0),
        };
        let order = epoch_order(job.seed, epoch, split.train.len());
        for (k, positions) in order.chunks(cfg.batch_size).enumerate().skip(skip) {
            step += 1;
            let batch = Batch::new(set, split, &face, positions, &device);
            let logged;
            (learner, logged) = learner.step(batch, &face, epoch, step, defer)?;
            match logged {
                Logged::Read(m) => {
                    out.read_backs += 1;
                    record(*m, &mut means, &mut out, job.log.every_steps, observe);
                }
                Logged::Pending(v) => pending.push(*v),
            }
            if stop() {
                flush(
                    &mut pending,
                    &mut means,
                    &mut out,
                    (job.log.every_steps, &job.tasks),
                    observe,
                )?;
                out.train_s += epoch_start.elapsed().as_secs_f64();
                let at = CheckpointAt {
                    epoch: epoch - 1,
                    step,
                    partial: Some(PartialEpoch {
                        batches_done: k + 1,
                        means,
                    }),
                    elapsed_s: started.elapsed().as_secs_f64(),
                };
                let ck = learner.checkpoint(job, &out, at)?;
                let rows = new_rows(&out, &mut handed);
                observe(TrainEvent::Checkpoint(Box::new(ck), rows));
                return Err(Error::Interrupted { epoch, step });
            }
        }
        flush(
            &mut pending,
            &mut means,
            &mut out,
            (job.log.every_steps, &job.tasks),
            observe,
        )?;
        learner.strategy.end_epoch(&means.mean_losses());
        out.train_s += epoch_start.elapsed().as_secs_f64();

        // Evaluate a copy of Θ without autodiff, on the test split and on the validation
        // split that model selection reads.
        let eval_start = Instant::now();
        let net = learner.net.valid();
        let scores = evaluate(&net, set, &split.test, &pairs, EVAL_BATCH, &plain, &face);
        let val = (!split.val.is_empty())
            .then(|| evaluate(&net, set, &split.val, &val_pairs, EVAL_BATCH, &plain, &face));
        out.eval_s += eval_start.elapsed().as_secs_f64();

        let metrics = means.finish(epoch, scores, val, started.elapsed().as_secs_f64());
        observe(TrainEvent::Epoch(metrics.clone()));
        out.epochs.push(metrics);
        let every = cfg.checkpoint_every;
        if every > 0 && (epoch.is_multiple_of(every) || epoch == cfg.epochs) {
            let at = CheckpointAt {
                epoch,
                step,
                partial: None,
                elapsed_s: started.elapsed().as_secs_f64(),
            };
            let ck = learner.checkpoint(job, &out, at)?;
            let rows = new_rows(&out, &mut handed);
            observe(TrainEvent::Checkpoint(Box::new(ck), rows));
        }
    }
    out.model = learner.model()?;
    Ok(out)
}

/// The rows of `out` after the first `handed` (epochs, steps), which are then handed too.
fn new_rows(out: &TrainOutput, handed: &mut (usize, usize)) -> Rows {
    let rows = Rows {
        epochs: out.epochs[handed.0..].to_vec(),
        steps: out.steps[handed.1..].to_vec(),
    };
    *handed = (out.epochs.len(), out.steps.len());
    rows
}

/// Where a checkpoint is taken.
struct CheckpointAt {
    epoch: usize,
    step: usize,
    partial: Option<PartialEpoch>,
    elapsed_s: f64,
}

fn record_bytes<M: Module>(module: &M) -> Result<Vec<u8>> {
    module
        .clone()
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| Error::Failed(format!("cannot record the model: {e:?}")))
}

/// `module` with the parameters of the record `bytes`; the error says why they do not fit.
fn load_module<M: Module>(module: M, bytes: &[u8]) -> std::result::Result<M, String> {
    ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .and_then(|r| module.try_load_record(r))
        .map_err(|e| format!("{e:?}"))
}

/// One mini-batch on the autodiff device: images and the labels of every head.
struct Batch {
    images: Tensor<4>,
    labels: Labels,
}

impl Batch {
    /// The training images at `positions` of the split's training list.
    fn new(
        set: &FaceSet,
        split: &Split,
        face: &FaceTasks,
        positions: &[usize],
        device: &Device,
    ) -> Self {
        let indices: Vec<usize> = positions.iter().map(|&k| split.train[k]).collect();
        Self {
            labels: face.labels(set, split, positions, device),
            images: batch_images(set, &indices, device),
        }
    }
}

fn optimizer(kind: OptimizerKind) -> ModuleOptimizer {
    match kind {
        OptimizerKind::Adam => AdamConfig::new().init(),
        OptimizerKind::Sgd => SgdConfig::new().init(),
        OptimizerKind::Rmsprop => RmsPropConfig::new().init(),
    }
}

/// Everything a step changes: Θ, Ψ, their optimisers, the strategy and the center-loss state.
struct Learner<T: SharedTrunk> {
    net: MultiTaskNet<T>,
    unit: WeightUnit,
    theta_optim: ModuleOptimizer,
    psi_optim: ModuleOptimizer,
    strategy: Box<dyn Strategy>,
    centers: CenterLoss,
    lr: f64,
}

impl<T: SharedTrunk> Learner<T> {
    /// A learner for `net`, whose identity classifier has `n_ids` training subjects.
    fn new(
        job: &Job,
        net: MultiTaskNet<T>,
        built: BuiltStrategy,
        n_ids: usize,
        device: &Device,
    ) -> Self {
        Self {
            net,
            unit: built.unit.init(job.model.z_dim, job.tasks.len(), device),
            theta_optim: optimizer(job.train.optimizer),
            psi_optim: optimizer(job.train.unit_optimizer),
            strategy: built.strategy,
            centers: CenterLoss::new(
                n_ids,
                job.model.embedding_dim,
                job.train.center_loss.clone(),
                device,
            ),
            lr: job.train.lr,
        }
    }

    /// The trained Θ and Ψ as records.
    fn model(&self) -> Result<TrainedModel> {
        Ok(TrainedModel {
            theta: record_bytes(&self.net)?,
            psi: record_bytes(&self.unit)?,
        })
    }

    /// Everything this learner and `out` hold, as a checkpoint at `at`.
    fn checkpoint(&self, job: &Job, out: &TrainOutput, at: CheckpointAt) -> Result<Checkpoint> {
        let optim = |o: &ModuleOptimizer| {
            o.into_bytes()
                .map(|b| b.to_vec())
                .map_err(|e| Error::Failed(format!("cannot record an optimiser: {e:?}")))
        };
        Ok(Checkpoint {
            header: CheckpointHeader {
                config_hash: job.config_hash.clone(),
                epoch: at.epoch,
                step: at.step,
                epochs_total: job.train.epochs,
                partial: at.partial,
                elapsed_s: at.elapsed_s,
                train_s: out.train_s,
                eval_s: out.eval_s,
                centers: self.centers.to_values(),
                strategy: self.strategy.state(),
                logged_epochs: out.epochs.len(),
                logged_steps: out.steps.len(),
            },
            theta: record_bytes(&self.net)?,
            psi: record_bytes(&self.unit)?,
            theta_optim: optim(&self.theta_optim)?,
            psi_optim: optim(&self.psi_optim)?,
        })
    }

    /// This freshly built learner with the state of `ck`.
    fn restore(mut self, ck: &Checkpoint) -> Result<Self> {
        let bad = |what: &str, e: String| Error::Checkpoint(format!("cannot load {what}: {e}"));
        self.net = load_module(self.net, &ck.theta).map_err(|e| bad("Θ", e))?;
        self.unit = load_module(self.unit, &ck.psi).map_err(|e| bad("Ψ", e))?;
        self.theta_optim = self
            .theta_optim
            .from_bytes(Bytes::from_bytes_vec(ck.theta_optim.clone()))
            .map_err(|e| bad("Θ's optimiser", format!("{e:?}")))?;
        self.psi_optim = self
            .psi_optim
            .from_bytes(Bytes::from_bytes_vec(ck.psi_optim.clone()))
            .map_err(|e| bad("Ψ's optimiser", format!("{e:?}")))?;
        let (values, dims) = ck.header.centers.clone();
        self.centers
            .set_values(values, dims)
            .map_err(|e| bad("the centers", e))?;
        self.strategy.restore(&ck.header.strategy)?;
        Ok(self)
    }

    /// One training step on `batch`. Takes the learner by value because burn's optimisers
    /// consume the module they update. With `defer` the step's logged values stay on the
    /// device (the caller reads them back later, many steps at once); else they are read and
    /// checked before the update.
    fn step(
        mut self,
        batch: Batch,
        face: &FaceTasks,
        epoch: usize,
        step: usize,
        defer: bool,
    ) -> Result<(Self, Logged)> {
        // Forward Θ and the task losses.
        let o = self.net.forward(batch.images);
        let task = face.losses(&o, &batch.labels, &self.centers);

        // The strategy weighs them and routes the gradients.
        let objective = self.strategy.objective(StepContext {
            z: o.z.clone(),
            unit: &self.unit,
            losses: task.clone(),
            tasks: &face.tasks,
            shared_gradients: &|| {
                shared_gradients(&self.net, &o.features, &batch.labels, &self.centers, face)
            },
        });
        let values = StepValues::of(epoch, step, &objective, &task);
        let logged = if defer {
            Logged::Pending(Box::new(values))
        } else {
            let m = read_back(vec![values])?.remove(0);
            m.check_finite(&face.tasks)?;
            Logged::Read(Box::new(m))
        };

        // Backward; Θ's and Ψ's gradients go to their own optimisers.
        let mut grads = objective.loss.backward();
        let psi_grads = GradientsParams::from_module(&mut grads, &self.unit);
        let theta_grads = GradientsParams::from_module(&mut grads, &self.net);
        self.net = self.theta_optim.step(self.lr, self.net, theta_grads);
        if let Some(unit_lr) = self.strategy.unit_lr() {
            self.unit = self.psi_optim.step(unit_lr, self.unit, psi_grads);
        }

        // The center-loss state and the strategy learn the step's outcome.
        self.centers.update(o.embedding, batch.labels.id_1h);
        if let Logged::Read(m) = &logged {
            self.strategy.after_step(&m.loss);
        }
        Ok((self, logged))
    }
}

/// A step's logged values: read back already, or still on the device.
enum Logged {
    Read(Box<StepMetrics>),
    Pending(Box<StepValues>),
}

/// Account for one step's metrics: the epoch's sums, the step log, the progress event.
fn record(
    m: StepMetrics,
    means: &mut EpochMeans,
    out: &mut TrainOutput,
    every_steps: usize,
    observe: &mut dyn FnMut(TrainEvent),
) {
    means.add(&m);
    observe(TrainEvent::Step(m.clone()));
    if every_steps > 0 && m.step.is_multiple_of(every_steps) {
        out.steps.push(m);
    }
}

/// Read the pending steps back in one transfer, check them in order (a non-finite value
/// fails at the step where it appeared) and account for them.
fn flush(
    pending: &mut Vec<StepValues>,
    means: &mut EpochMeans,
    out: &mut TrainOutput,
    (every_steps, tasks): (usize, &crate::task::Tasks),
    observe: &mut dyn FnMut(TrainEvent),
) -> Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let steps = read_back(std::mem::take(pending))?;
    out.read_backs += 1;
    for m in steps {
        m.check_finite(tasks)?;
        record(m, means, out, every_steps, observe);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_order_depends_on_seed_and_epoch_only() {
        let a = epoch_order(3, 2, 50);
        assert_eq!(a, epoch_order(3, 2, 50));
        assert_ne!(a, epoch_order(4, 2, 50));
        assert_ne!(a, epoch_order(3, 3, 50));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }
}
