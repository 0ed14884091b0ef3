//! The `weightlab` command line: parse (clap checks every flag's value), call the library,
//! render its results, map errors to exit codes (0 ok, 1 something ran and failed, 2 bad input).

mod args;
mod signals;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use args::{Cli, Command, DataCmd, Executor, Format, ReportCmd, RunArgs, SweepCmd};
use clap::Parser;
use signals::{install_stop_handlers, stopped, this_command};
use weightlab::data::synth;
use weightlab::error::Result;
use weightlab::report::{compare, compare_folders, diff};
use weightlab::study;
use weightlab::sweep::sinks::{self, TracingSink};
use weightlab::sweep::slurm::{self, SlurmOptions};
use weightlab::sweep::{self, tables, StopSignal, Sweep};

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

fn sweep_submit(args: &RunArgs, sweep: &Sweep) -> Result<ExitCode> {
    let mut run = args.options();
    // A sequential study submits its current round: one array per round.
    if sweep.experiment.sequential.is_some() {
        let round = study::round(sweep)?;
        eprintln!("sequential study: {}", round.summary());
        run.only = Some(round.needed);
    }
    let opts = SlurmOptions {
        partition: args.partition.clone(),
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        array_parallelism: args.array_parallelism,
        sbatch_args: args.sbatch_arg.clone(),
        run,
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
        let mut plan = sweep.plan()?;
        if sweep.experiment.sequential.is_some() {
            let round = study::round(&sweep)?;
            outln!(
                "sequential study: {}; the next round runs {} jobs",
                round.summary(),
                round.needed.len()
            );
            plan.retain(|p| round.needed.contains(&p.job.run_id));
        }
        out!("{}", tables::plan_table(&sweep, &plan, workers));
        return Ok(ExitCode::SUCCESS);
    }
    install_stop_handlers(&opts.stop);
    let mut display = sinks::for_stderr();
    let outcome = if sweep.experiment.sequential.is_some() {
        study::run(&sweep, &opts, &mut [display.as_mut()])?
    } else {
        sweep.run(&opts, &mut [display.as_mut()])?
    };
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

fn sweep_status(dir: PathBuf) -> Result<ExitCode> {
    let sweep = Sweep::open(&dir)?;
    let slurm_states = slurm::task_states(&dir)?;
    out!(
        "{}",
        tables::status_table(&sweep, &sweep.plan()?, &slurm_states)
    );
    if sweep.experiment.sequential.is_some() {
        // The jobs' table stands without it: a log the study cannot read is said, not fatal.
        match study::round(&sweep) {
            Ok(round) => outln!("{}", round.status()),
            Err(e) => outln!("sequential: the study's state cannot be read: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
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
            let (rows, opts) = compare_folders(&input.dirs, input.pool, &compare.options())?;
            match format {
                Format::Md => out!("{}", compare::to_markdown(&rows, &opts)),
                Format::Csv => out!("{}", compare::to_csv(&rows, &opts)),
            }
        }
        ReportCmd::Power { input, compare } => {
            let (rows, opts) = compare_folders(&input.dirs, input.pool, &compare.options())?;
            out!("{}", compare::power_table(&rows, &opts));
        }
        ReportCmd::Replay {
            input,
            design,
            first,
            every,
            max,
            margin,
            orders,
            format,
            compare,
        } => {
            let seq = weightlab::config::SequentialConfig {
                design,
                looks: weightlab::config::LooksConfig::Every { first, every, max },
                margin,
                alpha: compare.alpha,
                reference: compare.baseline.clone(),
                budget: None,
            };
            let options = weightlab_stats::ReplayOptions {
                orders,
                ..Default::default()
            };
            let mut replays = Vec::new();
            for (folder, logs) in weightlab::report::load_folders(&input.dirs, input.pool)? {
                let opts = compare.options();
                let opts = weightlab::report::compare::CompareOptions {
                    metric: logs.effective(opts.metric),
                    ..opts
                };
                replays.extend(
                    weightlab::report::sequential::replay(&logs, &seq, &opts, options)?
                        .into_iter()
                        .map(|r| (folder.clone(), r)),
                );
            }
            let text = match format {
                Format::Md => weightlab::report::sequential::replay_table(&replays, &seq, orders),
                Format::Csv => weightlab::report::sequential::replay_csv(&replays, &seq, orders),
            };
            out!("{text}");
        }
        ReportCmd::Seeds { input, compare } => {
            // The metric the logs can answer, as the comparison reads them.
            let (_, opts) = compare_folders(&input.dirs, input.pool, &compare.options())?;
            let all = weightlab::report::load_folders(&input.dirs, input.pool)?;
            let mut rows = Vec::new();
            for (label, logs) in &all {
                rows.extend(compare::per_seed(logs, label, &opts)?);
            }
            let tasks = all
                .first()
                .map(|(_, l)| l.tasks.clone())
                .unwrap_or_default();
            out!("{}", compare::seeds_csv(&rows, &tasks));
        }
        ReportCmd::Noise {
            dir,
            draws,
            baseline,
            format,
            device,
        } => {
            let rows = weightlab::report::noise::noise(&dir, draws, baseline.as_deref(), device)?;
            match format {
                Format::Md => out!("{}", weightlab::report::noise::to_table(&rows)),
                Format::Csv => out!("{}", weightlab::report::noise::to_csv(&rows)),
            }
        }
        ReportCmd::Claims { files } => {
            let mut failed = false;
            for file in &files {
                let outcome = weightlab::report::claims::check(file)?;
                out!("{}", outcome.render());
                failed |= !outcome.problems.is_empty();
            }
            if failed {
                return Ok(ExitCode::from(1));
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
            let ok = sweep::run_single(
                &dir,
                index,
                device,
                &stop,
                &mut [&mut TracingSink::default()],
            )?;
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
        Command::Data(DataCmd::Synth(a)) => {
            let n = synth::export(&a.config(), &a.out)?;
            eprintln!("wrote {n} images and manifest.csv to {}", a.out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(cmd) => report(cmd),
        Command::Eval {
            run,
            dataset,
            device,
        } => {
            let r = weightlab::report::rescore::rescore(&run, dataset.as_deref(), device)?;
            let names: Vec<&str> = r.metrics.iter().map(|m| m.0.as_str()).collect();
            outln!("run_id,dataset,test_images,pairs,{}", names.join(","));
            let values: Vec<String> = r
                .metrics
                .iter()
                .map(|m| m.1.map_or(String::new(), |v| v.to_string()))
                .collect();
            outln!(
                "{},{},{},{},{}",
                r.run_id,
                r.dataset,
                r.test_images,
                r.pairs,
                values.join(",")
            );
            for (name, value) in &r.metrics {
                if value.is_none() {
                    eprintln!("no {name}: the dataset lacks the labels the model was trained on");
                }
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
