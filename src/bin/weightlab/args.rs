//! The command line's grammar: every subcommand, flag and value check (clap rejects a bad value
//! before anything runs), and the options each one stands for.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use weightlab::config::{BackendKind, DesignName};
use weightlab::data::synth::SynthConfig;
use weightlab::report::compare::{CompareOptions, Reference};
use weightlab::report::Metric;
use weightlab::sweep::RunOptions;

/// Multi-task loss-weighting studies: static grids, Yin-style and L3 dynamic weights.
#[derive(Parser)]
#[command(name = "weightlab", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run and inspect sweeps.
    #[command(subcommand)]
    Sweep(SweepCmd),
    /// Figures, tables and trajectory diffs of finished sweeps.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Built-in data.
    #[command(subcommand)]
    Data(DataCmd),
    /// Evaluate a done job's trained model (FV pair accuracy, EX accuracy) on a dataset.
    Eval {
        /// The job's folder, RUN_DIR/<run_id>.
        run: PathBuf,
        /// A dataset name of the job's experiment, or a YAML dataset entry such as
        /// '{ name: oulu, oulu_casia: { root: data/OuluCASIA, image_size: 64 } }'
        /// [default: the job's own dataset].
        #[arg(long)]
        dataset: Option<String>,
        /// Compute backend.
        #[arg(long, value_enum, default_value_t = BackendKind::Flex)]
        device: BackendKind,
    },
}

#[derive(Subcommand)]
pub enum ReportCmd {
    /// Figure 2, the Pareto view, weight trajectories, accuracy curves and the comparison (PNG
    /// and SVG), and the self-contained HTML page beside them (`report html` is the same
    /// command).
    #[command(alias = "html")]
    Plot {
        #[command(flatten)]
        input: ReportInput,
        /// Output folder [default: reports/<sweep name>].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        compare: CompareArgs,
    },
    /// One row per (dataset, strategy point) with confidence intervals, seed-paired tests
    /// against a reference, per-task effects, power and verdicts, sorted by Δp; several folders
    /// go in one table, or pooled with --pool.
    Compare {
        #[command(flatten)]
        input: ReportInput,
        /// Table format.
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
        #[command(flatten)]
        compare: CompareArgs,
    },
    /// What a sequential design would have done on a finished fixed-seed study: the study
    /// replayed in random seed orders, the jobs the design would have run and how its verdicts
    /// compare with the fixed study's (the same, undecided, reversed).
    Replay {
        #[command(flatten)]
        input: ReportInput,
        /// The design.
        #[arg(long, value_enum, default_value_t = DesignName::GroupSequential)]
        design: DesignName,
        /// Paired seeds at the first look.
        #[arg(long, default_value_t = 10)]
        first: usize,
        /// Seeds a round adds.
        #[arg(long, default_value_t = 5)]
        every: usize,
        /// Paired seeds at the last look.
        #[arg(long, default_value_t = 40)]
        max: usize,
        /// The equivalence margin on Δp, in %.
        #[arg(long, default_value_t = 1.0, value_parser = positive)]
        margin: f64,
        /// Random seed orders.
        #[arg(long, default_value_t = 1000, value_parser = at_least_one)]
        orders: usize,
        /// Table format (csv: one row per point).
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
        #[command(flatten)]
        compare: CompareArgs,
    },
    /// The values behind the comparison, one row per job: the epoch that stands for it, each
    /// task's metric there and its paired Δp against the reference of the same seed (CSV).
    Seeds {
        #[command(flatten)]
        input: ReportInput,
        #[command(flatten)]
        compare: CompareArgs,
    },
    /// The power of each point's paired test: the paired SD of Δp, the minimum detectable Δp at
    /// α and at Holm's level, and the seeds --effect needs; then what the study can detect.
    Power {
        #[command(flatten)]
        input: ReportInput,
        #[command(flatten)]
        compare: CompareArgs,
    },
    /// Split each point's per-seed variance of Δp into test-set sampling and training, by
    /// scoring every done job's model on fresh test splits of its synthetic dataset; says
    /// whether a larger test split or more seeds narrows the intervals.
    Noise {
        /// The sweep folder.
        dir: PathBuf,
        /// Test splits per job: its own and DRAWS − 1 fresh ones (≥ 2).
        #[arg(long, default_value_t = 8, value_parser = at_least_one)]
        draws: usize,
        /// The point Δp is paired against [default: static w1=0.5].
        #[arg(long)]
        baseline: Option<String>,
        /// Table format.
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
        /// Compute backend.
        #[arg(long, value_enum, default_value_t = BackendKind::Flex)]
        device: BackendKind,
    },
    /// Check documents against their claims files: every number each document states must
    /// come out of its query (file, rows, column, aggregate) at the precision it is written
    /// with, and no number may go without a claim; exit 1 otherwise.
    Claims {
        /// Claims files (`reports/<study>/claims.yaml`).
        #[arg(required = true, value_name = "CLAIMS.yaml")]
        files: Vec<PathBuf>,
    },
    /// Compare the logged trajectories of two sweep folders; exit 1 beyond --tol.
    Diff {
        /// First folder.
        a: PathBuf,
        /// Second folder.
        b: PathBuf,
        /// Largest allowed absolute difference (≥ 0).
        #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true, value_parser = non_negative)]
        tol: f64,
    },
}

/// The sweep folders a report reads.
#[derive(Args)]
pub struct ReportInput {
    /// The sweep folders.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Pool the seeds of folders that hold the same experiment apart from its seeds (exit 2,
    /// naming the difference, when anything else differs).
    #[arg(long)]
    pub pool: bool,
}

/// How points are compared (`report compare`, `report plot`, `report power`).
#[derive(Args)]
pub struct CompareArgs {
    /// Which epoch's accuracy: the one selected on the validation split (the last where
    /// there is none), the last, or the best on the test split (optimistic).
    #[arg(long, value_enum, default_value_t = Metric::Selected)]
    pub metric: Metric,
    /// The point every other is compared with, by its label (e.g. `equal`, `static w1=0.3`)
    /// [default: static w1=0.5].
    #[arg(long)]
    pub baseline: Option<String>,
    /// What Δp and the per-task differences are measured against: the baseline point, or the
    /// single-task ends of the same seeds (FV against w1=1.0, EX against w1=0.0).
    #[arg(long, value_enum, default_value_t = Reference::Baseline)]
    pub reference: Reference,
    /// Significance level of the verdicts, after Holm's correction.
    #[arg(long, default_value_t = 0.05, value_parser = probability)]
    pub alpha: f64,
    /// The |Δp| in % that the seeds-needed column sizes the study for.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub effect: f64,
    /// The power that the minimum detectable Δp and the seeds needed refer to.
    #[arg(long, default_value_t = 0.8, value_parser = probability)]
    pub power: f64,
}

impl CompareArgs {
    /// The options of `report compare`, `plot` and `power`.
    pub fn options(&self) -> CompareOptions {
        CompareOptions {
            metric: self.metric,
            baseline: self.baseline.clone(),
            reference: self.reference,
            alpha: self.alpha,
            effect: self.effect,
            power: self.power,
            ..CompareOptions::default()
        }
    }
}

/// A finite number > 0 (`--effect`).
fn positive(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        Ok(_) => Err("must be > 0".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A level strictly between 0 and 1 (`--alpha`).
fn probability(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        Ok(_) => Err("must be between 0 and 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// `report compare --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A Markdown table.
    Md,
    /// CSV with full precision.
    Csv,
}

/// `sweep run --executor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Executor {
    /// Jobs run on this machine.
    Local,
    /// One Slurm job array, submitted with sbatch.
    Slurm,
}

/// A count that must be at least 1 (`--jobs`, `--cpus-per-task`, `--array-parallelism`).
fn at_least_one(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be ≥ 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A finite number ≥ 0 (`--tol`).
fn non_negative(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v >= 0.0 => Ok(v),
        Ok(_) => Err("must be ≥ 0".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Subcommand)]
pub enum SweepCmd {
    /// Train every job of an experiment that is not done yet.
    Run(RunArgs),
    /// Run exactly one job of a sweep folder.
    Job {
        /// The sweep folder.
        dir: PathBuf,
        /// Job index (as listed by `sweep status`).
        #[arg(long)]
        index: usize,
        /// Compute backend [default: the experiment's].
        #[arg(long, value_enum)]
        device: Option<BackendKind>,
    },
    /// Counts by state and one line per job.
    Status {
        /// The sweep folder.
        dir: PathBuf,
    },
}

#[derive(Args)]
pub struct RunArgs {
    /// The experiment YAML.
    pub experiment: PathBuf,
    /// Overrides of the experiment, e.g. train.epochs=5 seeds=[1,2,3]
    /// datasets.0.synthetic.image_size=48 'strategies=[{l3: {lr: 0.05}}]' (~key removes one).
    #[arg(value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Sweep folder [default: runs/<name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Parallel jobs [default: cores ÷ train.threads].
    #[arg(long, value_parser = at_least_one)]
    pub jobs: Option<usize>,
    /// Compute backend; overrides the YAML's `device`.
    #[arg(long, value_enum)]
    pub device: Option<BackendKind>,
    /// Show what would run (the job table, or with --executor slurm the array script) and
    /// change nothing on disk.
    #[arg(long)]
    pub dry_run: bool,
    /// Rerun failed jobs too.
    #[arg(long)]
    pub retry_failed: bool,
    /// Start the sweep folder over.
    #[arg(long)]
    pub fresh: bool,
    /// Where jobs run.
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    pub executor: Executor,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm time limit per job, HH:MM:SS.
    #[arg(long)]
    pub time: Option<String>,
    /// Slurm CPUs per task [default: train.threads].
    #[arg(long, value_parser = at_least_one)]
    pub cpus_per_task: Option<usize>,
    /// At most this many array tasks at once.
    #[arg(long, value_parser = at_least_one)]
    pub array_parallelism: Option<usize>,
    /// Seconds before the time limit at which Slurm sends SIGTERM, so that a task writes a
    /// checkpoint and is requeued (0: no warning).
    #[arg(long, default_value_t = 120)]
    pub signal_before: u64,
    /// An extra `#SBATCH` line, e.g. --sbatch-arg=--mem=4G (repeatable).
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
}

impl RunArgs {
    /// The options of a local run.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            jobs: self.jobs,
            device: self.device,
            retry_failed: self.retry_failed,
            fresh: self.fresh,
            ..RunOptions::default()
        }
    }
}

#[derive(Subcommand)]
pub enum DataCmd {
    /// Write the synthetic faces as PNG files with a manifest.csv.
    Synth(SynthArgs),
}

#[derive(Args)]
pub struct SynthArgs {
    /// Output folder.
    #[arg(long, default_value = "data/synth")]
    pub out: PathBuf,
    /// Identities in all.
    #[arg(long, default_value_t = 12)]
    pub identities: usize,
    /// Held-out identities (listed in the manifest like the others).
    #[arg(long, default_value_t = 2)]
    pub test_identities: usize,
    /// Expressions (2..=7).
    #[arg(long, default_value_t = 7)]
    pub expressions: usize,
    /// Images per (identity, expression).
    #[arg(long, default_value_t = 2)]
    pub images_per_cell: usize,
    /// Image side in pixels.
    #[arg(long, default_value_t = 64)]
    pub image_size: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Spread between identities.
    #[arg(long, default_value_t = 1.0)]
    pub identity_separation: f64,
    /// Strength of expressions.
    #[arg(long, default_value_t = 1.0)]
    pub expression_strength: f64,
    /// Spread of the identities' resting faces, in units of a full expression's movement.
    #[arg(long, default_value_t = 0.0)]
    pub resting_face: f64,
    /// Share of the skin and background tone that belongs to the identity (0..=1).
    #[arg(long, default_value_t = 1.0)]
    pub identity_tone: f64,
    /// How far expressions reshape the identifying face geometry.
    #[arg(long, default_value_t = 0.0)]
    pub expression_warp: f64,
    /// How far heads tilt (the `pose` task's label): ±6.875° × this.
    #[arg(long, default_value_t = 1.0)]
    pub tilt: f64,
}

impl SynthArgs {
    /// The generator settings these flags stand for.
    pub fn config(&self) -> SynthConfig {
        SynthConfig {
            identities: self.identities,
            test_identities: self.test_identities,
            expressions: self.expressions,
            images_per_cell: self.images_per_cell,
            image_size: self.image_size,
            seed: self.seed,
            identity_separation: self.identity_separation,
            expression_strength: self.expression_strength,
            resting_face: self.resting_face,
            identity_tone: self.identity_tone,
            expression_warp: self.expression_warp,
            tilt: self.tilt,
            ..SynthConfig::default()
        }
    }
}
