//! The bench's command line: what to measure, where the figures go.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Benchmark weightlab against PyTorch on this machine.
#[derive(Parser)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Option<Mode>,
    /// Where the figures go (`all`).
    #[arg(long, default_value = "bench/results.json", global = true)]
    pub(crate) out: PathBuf,
    /// Experiment whose first dataset, model and training settings are measured.
    #[arg(long, default_value = "experiments/fig2.yaml", global = true)]
    pub(crate) experiment: PathBuf,
    /// flex or wgpu.
    #[arg(long, default_value = "flex", global = true)]
    pub(crate) device: String,
}

#[derive(Subcommand)]
pub(crate) enum Mode {
    /// Everything below, alternating weightlab and the peer; writes `--out`.
    All {
        /// Rounds per thread count, each running weightlab and every peer variant once.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// The Python with PyTorch for the peer.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Skip the fig2 job and the sweep scaling (the A/B step comparison only).
        #[arg(long)]
        step_only: bool,
    },
    /// Images/s of the training step (small preset, batch 64, Adam, l3); one JSON line.
    Step {
        /// Compute threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Timed steps.
        #[arg(long, default_value_t = 64)]
        steps: usize,
        /// Untimed steps first.
        #[arg(long, default_value_t = 4)]
        warmup: usize,
        /// Mini-batch size.
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Trunk preset (small or paper); the experiment's when not given.
        #[arg(long)]
        preset: Option<String>,
    },
    /// Images/s of the forward pass that evaluation runs (the test split, no autodiff, batches
    /// of 256); one JSON line.
    Forward {
        /// Compute threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Timed passes over the test split.
        #[arg(long, default_value_t = 10)]
        reps: usize,
    },
    /// One job of the experiment (its first l3 job) end to end; one JSON line.
    Job,
    /// The CPU's clock, FMA throughput and peak FLOP/s of one core; one JSON line.
    Peak,
    /// Study folders of thousands of finished tiny jobs: `sweep status`, `report compare`,
    /// `report plot` and a resume with nothing to do, timed at each size; writes `--out`.
    Scale {
        /// Job counts.
        #[arg(long, value_delimiter = ',', default_values_t = crate::scale::SIZES)]
        sizes: Vec<usize>,
        /// Keep the folders (and their experiments) in this folder instead of removing them.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
}
