//! The `weightlab` command line: parse, call the library, map errors to exit codes
//! (0 ok, 1 something ran and failed, 2 bad input).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use weightlab::config::BackendKind;
use weightlab::data::synth::{self, SynthConfig};
use weightlab::error::{Error, Result};
use weightlab::report::{compare, diff, plot, Metric, SweepLogs};
use weightlab::runlog::JobState;
use weightlab::sweep::sinks::{self, IndexSink, ProgressSink, TracingSink};
use weightlab::sweep::slurm::{self, SlurmOptions};
use weightlab::sweep::{self, EventSink, Sweep};

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
}

#[derive(Subcommand)]
enum ReportCmd {
    /// Figure 2, weight trajectories and accuracy curves (PNG and SVG).
    Plot {
        /// The sweep folder.
        dir: PathBuf,
        /// Output folder [default: reports/<sweep name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Which epoch's accuracy: final or best.
        #[arg(long, default_value = "final")]
        metric: String,
    },
    /// One row per (dataset, strategy point), sorted by Δp against w1 = 0.5.
    Compare {
        /// The sweep folder.
        dir: PathBuf,
        /// md or csv.
        #[arg(long, default_value = "md")]
        format: String,
        /// Which epoch's accuracy: final or best.
        #[arg(long, default_value = "final")]
        metric: String,
    },
    /// Compare the logged trajectories of two sweep folders; exit 1 beyond --tol.
    Diff {
        /// First folder.
        a: PathBuf,
        /// Second folder.
        b: PathBuf,
        /// Largest allowed absolute difference.
        #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true)]
        tol: f64,
    },
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
        /// flex (CPU) or wgpu (GPU).
        #[arg(long)]
        device: Option<String>,
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
    /// Sweep folder [default: runs/<name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Parallel jobs [default: cores ÷ train.threads].
    #[arg(long)]
    jobs: Option<usize>,
    /// flex (CPU) or wgpu (GPU); overrides the YAML.
    #[arg(long)]
    device: Option<String>,
    /// Print the job table and exit without training.
    #[arg(long)]
    dry_run: bool,
    /// Rerun failed jobs too.
    #[arg(long)]
    retry_failed: bool,
    /// Start the sweep folder over.
    #[arg(long)]
    fresh: bool,
    /// Where jobs run: local (this machine) or slurm (a job array submitted with sbatch).
    #[arg(long, default_value = "local")]
    executor: String,
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// Slurm time limit per job, HH:MM:SS.
    #[arg(long)]
    time: Option<String>,
    /// Slurm CPUs per task [default: train.threads].
    #[arg(long)]
    cpus_per_task: Option<usize>,
    /// At most this many array tasks at once.
    #[arg(long)]
    array_parallelism: Option<usize>,
    /// An extra `#SBATCH` line, e.g. --sbatch-arg=--mem=4G (repeatable).
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    sbatch_arg: Vec<String>,
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
}

fn device_flag(s: &Option<String>) -> Result<Option<BackendKind>> {
    s.as_deref().map(BackendKind::parse_flag).transpose()
}

fn sweep_submit(args: &RunArgs, sweep: &Sweep, backend: Option<BackendKind>) -> Result<ExitCode> {
    if let Some(0) = args.cpus_per_task.or(args.array_parallelism) {
        return Err(Error::input(
            "--cpus-per-task/--array-parallelism",
            "slurm",
            "must be ≥ 1",
        ));
    }
    let opts = SlurmOptions {
        partition: args.partition.clone(),
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        array_parallelism: args.array_parallelism,
        sbatch_args: args.sbatch_arg.clone(),
        device: backend,
    };
    let outcome = slurm::submit(sweep, &opts, args.retry_failed, args.fresh, args.dry_run)?;
    if outcome.indices.is_empty() {
        eprintln!(
            "nothing to submit: every job is done or queued ({})",
            sweep.dir.root().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
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
        None => {
            out!("{}", outcome.text);
            eprintln!(
                "dry run: wrote {} (not submitted)",
                outcome.script.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn sweep_run(args: RunArgs) -> Result<ExitCode> {
    let backend = device_flag(&args.device)?;
    let sweep = Sweep::from_experiment(&args.experiment, args.out.clone())?;
    match args.executor.as_str() {
        "local" => {}
        "slurm" => return sweep_submit(&args, &sweep, backend),
        other => {
            return Err(Error::input(
                "--executor",
                "executor",
                format!("`{other}`: use local or slurm"),
            ))
        }
    }
    let threads = sweep.experiment.train.threads;
    if let Some(0) = args.jobs {
        return Err(Error::input("--jobs", "jobs", "must be ≥ 1"));
    }
    let workers = args
        .jobs
        .unwrap_or_else(|| (sweep::cores() / threads).max(1));
    if args.dry_run {
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
            let state = match p.state {
                JobState::Pending | JobState::Running => "new",
                JobState::Done => "done",
                JobState::Failed => "failed",
            };
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
        return Ok(ExitCode::SUCCESS);
    }
    if workers * threads > sweep::cores() {
        tracing::warn!(
            jobs = workers,
            threads,
            cores = sweep::cores(),
            "jobs × threads exceeds the cores; jobs will compete for them"
        );
    }
    let backend = backend.unwrap_or(sweep.experiment.device);
    let mut index = IndexSink::new(&sweep);
    let mut progress = ProgressSink::new();
    let mut log = TracingSink;
    let mut sinks: Vec<&mut dyn EventSink> = vec![&mut index];
    if sinks::stderr_is_terminal() {
        sinks.push(&mut progress);
    } else {
        sinks.push(&mut log);
    }
    let failed = sweep.run(workers, backend, args.retry_failed, args.fresh, &mut sinks)?;
    let plan = sweep.plan()?;
    let done = plan.iter().filter(|p| p.state == JobState::Done).count();
    eprintln!(
        "{done}/{} jobs done in {}",
        plan.len(),
        sweep.dir.root().display()
    );
    if failed > 0 {
        eprintln!("{failed} failed:");
        for p in plan.iter().filter(|p| p.state == JobState::Failed) {
            eprintln!("  {}: {}", p.job.run_id, p.reason.as_deref().unwrap_or(""));
        }
        eprintln!("rerun them with --retry-failed");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
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
        outln!(
            "{:>4}  {:<8} {}{task}{reason}",
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
        ..SynthConfig::default()
    };
    if cfg.identities == 0 || !(2..=7).contains(&cfg.expressions) || cfg.image_size < 8 {
        return Err(Error::input(
            "data synth",
            "flags",
            "need identities ≥ 1, expressions in 2..=7, image size ≥ 8",
        ));
    }
    let set = synth::generate("synth", &cfg);
    let mut manifest = String::from("path,subject,expression\n");
    for i in 0..set.len() {
        let path = a.out.join(&set.paths[i]);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(parent, "cannot create folder", e))?;
        }
        let bytes: Vec<u8> = set
            .image(i)
            .iter()
            .map(|p| (p * 255.0).round() as u8)
            .collect();
        let img = image::GrayImage::from_raw(cfg.image_size as u32, cfg.image_size as u32, bytes)
            .ok_or_else(|| Error::Failed("image buffer size mismatch".into()))?;
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| Error::Failed(format!("cannot encode PNG: {e}")))?;
        weightlab::runlog::atomic_write(&path, &png)?;
        manifest.push_str(&format!(
            "{},{},{}\n",
            set.paths[i],
            set.subject_names[set.subjects[i] as usize],
            set.expression_names[set.expressions[i] as usize]
        ));
    }
    weightlab::runlog::atomic_write(&a.out.join("manifest.csv"), manifest.as_bytes())?;
    eprintln!(
        "wrote {} images and manifest.csv to {}",
        set.len(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn report(cmd: ReportCmd) -> Result<ExitCode> {
    match cmd {
        ReportCmd::Plot { dir, out, metric } => {
            let metric = Metric::parse(&metric)?;
            let logs = SweepLogs::load(&dir)?;
            let out = out.unwrap_or_else(|| PathBuf::from("reports").join(&logs.name));
            for f in plot::plot_all(&logs, &out, metric)? {
                eprintln!("wrote {}", f.display());
            }
        }
        ReportCmd::Compare {
            dir,
            format,
            metric,
        } => {
            let metric = Metric::parse(&metric)?;
            if format != "md" && format != "csv" {
                return Err(Error::input(
                    "--format",
                    "format",
                    format!("`{format}`: use md or csv"),
                ));
            }
            let rows = compare::compare(&SweepLogs::load(&dir)?, metric);
            match format.as_str() {
                "md" => out!("{}", compare::to_markdown(&rows, metric)),
                "csv" => out!("{}", compare::to_csv(&rows)),
                other => {
                    return Err(Error::input(
                        "--format",
                        "format",
                        format!("`{other}`: use md or csv"),
                    ))
                }
            }
        }
        ReportCmd::Diff { a, b, tol } => {
            if tol.is_nan() || tol < 0.0 {
                return Err(Error::input("--tol", "tol", "must be ≥ 0"));
            }
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
            let backend = device_flag(&device)?;
            let mut log = TracingSink;
            let ok = sweep::run_single(&dir, index, backend, &mut [&mut log])?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Sweep(SweepCmd::Status { dir }) => sweep_status(dir),
        Command::Data(DataCmd::Synth(a)) => data_synth(a),
        Command::Report(cmd) => report(cmd),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
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
