//! The `weightlab` command line: parse (clap checks every flag's value), call the library,
//! render its results, map errors to exit codes (0 ok, 1 something ran and failed, 2 bad input).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use weightlab::config::BackendKind;
use weightlab::data::synth::{self, SynthConfig};
use weightlab::error::Result;
use weightlab::report::compare::{self, CompareOptions, Reference};
use weightlab::report::{diff, Metric, SweepLogs};
use weightlab::runlog::JobState;
use weightlab::sweep::sinks::{self, TracingSink};
use weightlab::sweep::slurm::{self, SlurmOptions};
use weightlab::sweep::{self, RunOptions, StopSignal, Sweep};

/// `print!` that ignores a closed stdout (`weightlab sweep status DIR | head -1`): results are
/// files, and a reader that stops reading is not an error.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

/// `println!` that ignores a closed stdout, like [`out!`].
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// Multi-task loss-weighting studies: static grids, Yin-style and L3 dynamic weights.
#[derive(Parser)]
#[command(name = "weightlab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
enum ReportCmd {
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
struct ReportInput {
    /// The sweep folders.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Pool the seeds of folders that hold the same experiment apart from its seeds (exit 2,
    /// naming the difference, when anything else differs).
    #[arg(long)]
    pool: bool,
}

/// How points are compared (`report compare`, `report plot`, `report power`).
#[derive(Args)]
struct CompareArgs {
    /// Which epoch's accuracy: the one selected on the validation split (the last where
    /// there is none), the last, or the best on the test split (optimistic).
    #[arg(long, value_enum, default_value_t = Metric::Selected)]
    metric: Metric,
    /// The point every other is compared with, by its label (e.g. `equal`, `static w1=0.3`)
    /// [default: static w1=0.5].
    #[arg(long)]
    baseline: Option<String>,
    /// What Δp and the per-task differences are measured against: the baseline point, or the
    /// single-task ends of the same seeds (FV against w1=1.0, EX against w1=0.0).
    #[arg(long, value_enum, default_value_t = Reference::Baseline)]
    reference: Reference,
    /// Significance level of the verdicts, after Holm's correction.
    #[arg(long, default_value_t = 0.05, value_parser = probability)]
    alpha: f64,
    /// The |Δp| in % that the seeds-needed column sizes the study for.
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    effect: f64,
    /// The power that the minimum detectable Δp and the seeds needed refer to.
    #[arg(long, default_value_t = 0.8, value_parser = probability)]
    power: f64,
}

impl CompareArgs {
    fn options(&self) -> CompareOptions {
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
enum Format {
    /// A Markdown table.
    Md,
    /// CSV with full precision.
    Csv,
}

/// `sweep run --executor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Executor {
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
enum SweepCmd {
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
struct RunArgs {
    /// The experiment YAML.
    experiment: PathBuf,
    /// Overrides of the experiment, e.g. train.epochs=5 seeds=[1,2,3]
    /// datasets.0.synthetic.image_size=48 'strategies=[{l3: {lr: 0.05}}]' (~key removes one).
    #[arg(value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Sweep folder [default: runs/<name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Parallel jobs [default: cores ÷ train.threads].
    #[arg(long, value_parser = at_least_one)]
    jobs: Option<usize>,
    /// Compute backend; overrides the YAML's `device`.
    #[arg(long, value_enum)]
    device: Option<BackendKind>,
    /// Show what would run (the job table, or with --executor slurm the array script) and
    /// change nothing on disk.
    #[arg(long)]
    dry_run: bool,
    /// Rerun failed jobs too.
    #[arg(long)]
    retry_failed: bool,
    /// Start the sweep folder over.
    #[arg(long)]
    fresh: bool,
    /// Where jobs run.
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    executor: Executor,
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// Slurm time limit per job, HH:MM:SS.
    #[arg(long)]
    time: Option<String>,
    /// Slurm CPUs per task [default: train.threads].
    #[arg(long, value_parser = at_least_one)]
    cpus_per_task: Option<usize>,
    /// At most this many array tasks at once.
    #[arg(long, value_parser = at_least_one)]
    array_parallelism: Option<usize>,
    /// Seconds before the time limit at which Slurm sends SIGTERM, so that a task writes a
    /// checkpoint and is requeued (0: no warning).
    #[arg(long, default_value_t = 120)]
    signal_before: u64,
    /// An extra `#SBATCH` line, e.g. --sbatch-arg=--mem=4G (repeatable).
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    sbatch_arg: Vec<String>,
}

impl RunArgs {
    fn options(&self) -> RunOptions {
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
enum DataCmd {
    /// Write the synthetic faces as PNG files with a manifest.csv.
    Synth(SynthArgs),
}

#[derive(Args)]
struct SynthArgs {
    /// Output folder.
    #[arg(long, default_value = "data/synth")]
    out: PathBuf,
    /// Identities in all.
    #[arg(long, default_value_t = 12)]
    identities: usize,
    /// Held-out identities (listed in the manifest like the others).
    #[arg(long, default_value_t = 2)]
    test_identities: usize,
    /// Expressions (2..=7).
    #[arg(long, default_value_t = 7)]
    expressions: usize,
    /// Images per (identity, expression).
    #[arg(long, default_value_t = 2)]
    images_per_cell: usize,
    /// Image side in pixels.
    #[arg(long, default_value_t = 64)]
    image_size: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Spread between identities.
    #[arg(long, default_value_t = 1.0)]
    identity_separation: f64,
    /// Strength of expressions.
    #[arg(long, default_value_t = 1.0)]
    expression_strength: f64,
    /// Spread of the identities' resting faces, in units of a full expression's movement.
    #[arg(long, default_value_t = 0.0)]
    resting_face: f64,
    /// Share of the skin and background tone that belongs to the identity (0..=1).
    #[arg(long, default_value_t = 1.0)]
    identity_tone: f64,
    /// How far expressions reshape the identifying face geometry.
    #[arg(long, default_value_t = 0.0)]
    expression_warp: f64,
}

fn sweep_submit(args: &RunArgs, sweep: &Sweep) -> Result<ExitCode> {
    let opts = SlurmOptions {
        partition: args.partition.clone(),
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        array_parallelism: args.array_parallelism,
        sbatch_args: args.sbatch_arg.clone(),
        run: args.options(),
        signal_before: args.signal_before,
    };
    if args.dry_run {
        let preview = slurm::preview(sweep, &opts)?;
        out!("{}", preview.text);
        eprintln!(
            "dry run: {} array tasks; nothing written or submitted (the script would go to {})",
            preview.indices.len(),
            preview.script.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = slurm::submit(sweep, &opts)?;
    match outcome.job_id {
        Some(id) => {
            outln!("{id}");
            eprintln!(
                "submitted Slurm job {id}: {} array tasks ({}); follow with `weightlab sweep status {}`",
                outcome.indices.len(),
                outcome.script.display(),
                sweep.dir.root().display()
            );
        }
        None => eprintln!(
            "nothing to submit: every job is done or queued ({})",
            sweep.dir.root().display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plan(sweep: &Sweep, workers: usize) -> Result<()> {
    let plan = sweep.plan()?;
    outln!(
        "{:<5} {:<44} {:<10} {:<8} {:>5} {:>6}  state",
        "index",
        "run_id",
        "dataset",
        "strategy",
        "w1",
        "seed"
    );
    for p in &plan {
        let state = p.plan_label();
        let w1 = p
            .job
            .strategy
            .static_w1()
            .map_or("-".to_string(), |w| format!("{w}"));
        outln!(
            "{:<5} {:<44} {:<10} {:<8} {:>5} {:>6}  {state}",
            p.job.index,
            p.job.run_id,
            p.job.dataset.name,
            p.job.strategy.name(),
            w1,
            p.job.seed
        );
    }
    outln!(
        "{} jobs, {} parallel, folder {}",
        plan.len(),
        workers,
        sweep.dir.root().display()
    );
    Ok(())
}

fn sweep_run(args: RunArgs) -> Result<ExitCode> {
    let sweep = Sweep::with_overrides(&args.experiment, args.out.clone(), &args.overrides)?;
    if args.executor == Executor::Slurm {
        return sweep_submit(&args, &sweep);
    }
    let opts = args.options();
    let workers = opts.workers(sweep.experiment.train.threads);
    if args.dry_run {
        if !args.overrides.is_empty() {
            outln!("overrides: {}", args.overrides.join(" "));
        }
        print_plan(&sweep, workers)?;
        return Ok(ExitCode::SUCCESS);
    }
    install_stop_handlers(&opts.stop);
    let mut display = sinks::for_stderr();
    let outcome = sweep.run(&opts, &mut [display.as_mut()])?;
    if let Some(code) = stopped(&this_command()) {
        return Ok(code);
    }
    eprintln!(
        "{}/{} jobs done in {}",
        outcome.done,
        outcome.total,
        sweep.dir.root().display()
    );
    if !outcome.failed.is_empty() {
        eprintln!("{} failed:", outcome.failed.len());
        for (run_id, reason) in &outcome.failed {
            eprintln!("  {run_id}: {reason}");
        }
        eprintln!("rerun them with --retry-failed");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The signal that asked to stop (SIGINT or SIGTERM), 0 while none has.
static STOP_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// SIGINT and SIGTERM raise `stop`: running jobs finish their step, write a checkpoint and are
/// left pending. A second SIGINT exits at once.
fn install_stop_handlers(stop: &StopSignal) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let seen = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C exits at once. Repeated SIGTERMs do not: Slurm may send one to the task's
    // shell, which forwards it, and one to every process of the task.
    let _ = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, seen.clone());
    let _ = signal_hook::flag::register(SIGINT, seen.clone());
    for sig in [SIGINT, SIGTERM] {
        let stop = stop.clone();
        // SAFETY: the handler only stores to atomics, which is async-signal-safe.
        let _ = unsafe {
            signal_hook::low_level::register(sig, move || {
                stop.raise();
                STOP_SIGNAL.store(sig, Ordering::SeqCst);
            })
        };
    }
}

/// This command line as a shell would need it typed again (arguments with spaces or shell
/// characters in single quotes).
fn this_command() -> String {
    let plain = |a: &str| {
        !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .map(|a| {
            if plain(&a) {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect();
    format!("weightlab {}", args.join(" "))
}

/// The exit code after a stop signal (130 for SIGINT, 143 for SIGTERM), with how to resume.
fn stopped(resume: &str) -> Option<ExitCode> {
    let sig = STOP_SIGNAL.load(std::sync::atomic::Ordering::SeqCst);
    (sig != 0).then(|| {
        eprintln!("stopped by a signal: running jobs wrote a checkpoint and are pending; resume with `{resume}`");
        ExitCode::from((128 + sig) as u8)
    })
}

fn sweep_status(dir: PathBuf) -> Result<ExitCode> {
    let sweep = Sweep::open(&dir)?;
    let plan = sweep.plan()?;
    let slurm_states = slurm::task_states(&dir)?;
    let count = |s: JobState| plan.iter().filter(|p| p.state == s).count();
    outln!(
        "{}: {} jobs — {} done, {} failed, {} running, {} pending",
        sweep.experiment.name,
        plan.len(),
        count(JobState::Done),
        count(JobState::Failed),
        count(JobState::Running),
        count(JobState::Pending)
    );
    for p in &plan {
        let reason = p
            .reason
            .as_deref()
            .map(|r| format!("  ({r})"))
            .unwrap_or_default();
        let task = slurm_states
            .get(&p.job.index)
            .map(|s| format!("  slurm {s}"))
            .unwrap_or_default();
        let progress = p
            .progress(&sweep.dir)
            .map(|g| format!("  {g}"))
            .unwrap_or_default();
        outln!(
            "{:>4}  {:<8} {}{progress}{task}{reason}",
            p.job.index,
            p.state.as_str(),
            p.job.run_id
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn data_synth(a: SynthArgs) -> Result<ExitCode> {
    let cfg = SynthConfig {
        identities: a.identities,
        test_identities: a.test_identities,
        expressions: a.expressions,
        images_per_cell: a.images_per_cell,
        image_size: a.image_size,
        seed: a.seed,
        identity_separation: a.identity_separation,
        expression_strength: a.expression_strength,
        resting_face: a.resting_face,
        identity_tone: a.identity_tone,
        expression_warp: a.expression_warp,
        ..SynthConfig::default()
    };
    let n = synth::export(&cfg, &a.out)?;
    eprintln!("wrote {n} images and manifest.csv to {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

/// The comparison rows of every folder of `input` (pooled into one when asked).
/// `opts` come back with the metric the logs can answer (`selected` reads `final` when no
/// job has a validation split).
fn compare_rows(
    input: &ReportInput,
    opts: &CompareOptions,
) -> Result<(Vec<compare::CompareRow>, CompareOptions)> {
    let all = load_logs(input)?;
    let mut opts = opts.clone();
    if all
        .iter()
        .all(|(_, logs)| logs.effective(opts.metric) != opts.metric)
    {
        opts.metric = Metric::Final;
    }
    let mut rows = Vec::new();
    for (label, logs) in &all {
        rows.extend(compare::compare(logs, label, &opts)?);
    }
    for w in compare::warnings(&rows) {
        tracing::warn!("{w}");
    }
    Ok((rows, opts))
}

/// The sweep logs of `input`, labelled by folder: one pooled entry with --pool.
fn load_logs(input: &ReportInput) -> Result<Vec<(String, SweepLogs)>> {
    if input.pool {
        let label = input
            .dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ");
        return Ok(vec![(label, SweepLogs::load_pooled(&input.dirs)?)]);
    }
    input
        .dirs
        .iter()
        .map(|d| Ok((d.display().to_string(), SweepLogs::load(d)?)))
        .collect()
}

fn report(cmd: ReportCmd) -> Result<ExitCode> {
    match cmd {
        ReportCmd::Plot {
            input,
            out,
            compare,
        } => {
            if input.dirs.len() > 1 && !input.pool {
                return Err(weightlab::error::Error::input(
                    "DIR",
                    "DIR",
                    "one report draws one sweep: give one folder, or several with --pool to pool their seeds",
                ));
            }
            for f in weightlab::report::publish(&input.dirs, out, &compare.options())? {
                eprintln!("wrote {}", f.display());
            }
        }
        ReportCmd::Compare {
            input,
            format,
            compare,
        } => {
            let (rows, opts) = compare_rows(&input, &compare.options())?;
            match format {
                Format::Md => out!("{}", compare::to_markdown(&rows, &opts)),
                Format::Csv => out!("{}", compare::to_csv(&rows, &opts)),
            }
        }
        ReportCmd::Power { input, compare } => {
            let (rows, opts) = compare_rows(&input, &compare.options())?;
            out!("{}", compare::power_table(&rows, &opts));
        }
        ReportCmd::Noise {
            dir,
            draws,
            baseline,
            format,
            device,
        } => {
            let baseline = baseline.unwrap_or_else(|| compare::DEFAULT_BASELINE.to_string());
            let rows = weightlab::report::noise::noise(&dir, draws, &baseline, device)?;
            match format {
                Format::Md => out!("{}", weightlab::report::noise::to_table(&rows)),
                Format::Csv => out!("{}", weightlab::report::noise::to_csv(&rows)),
            }
        }
        ReportCmd::Diff { a, b, tol } => {
            let report = diff::diff(&a, &b)?;
            out!("{}", report.render(tol));
            if !report.within(tol) {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Sweep(SweepCmd::Run(args)) => sweep_run(args),
        Command::Sweep(SweepCmd::Job { dir, index, device }) => {
            let stop = StopSignal::default();
            install_stop_handlers(&stop);
            let ok = sweep::run_single(&dir, index, device, &stop, &mut [&mut TracingSink])?;
            if let Some(code) = stopped(&this_command()) {
                return Ok(code);
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Sweep(SweepCmd::Status { dir }) => sweep_status(dir),
        Command::Data(DataCmd::Synth(a)) => data_synth(a),
        Command::Report(cmd) => report(cmd),
        Command::Eval {
            run,
            dataset,
            device,
        } => {
            let r = weightlab::report::rescore::rescore(&run, dataset.as_deref(), device)?;
            outln!("run_id,dataset,test_images,pairs,fv_acc,ex_acc");
            outln!(
                "{},{},{},{},{},{}",
                r.run_id,
                r.dataset,
                r.test_images,
                r.pairs,
                r.fv_acc,
                r.ex_acc.map_or(String::new(), |a| a.to_string())
            );
            if r.ex_acc.is_none() {
                eprintln!("no EX accuracy: the dataset's expressions are not those the model was trained on");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    // Colour only for a person at a terminal: a log file or CI gets plain lines.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    // A panicking job is recorded as failed with its message; no backtrace on the terminal.
    std::panic::set_hook(Box::new(|info| {
        tracing::debug!(panic = %info, "panic caught");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
