//! weightlab as a library: a trunk, a strategy and a dataset of your own, registered under
//! names and run as a sweep, with resume, parquet logs and a report like the built-in parts.
//!
//! ```sh
//! cargo run --release --example own_parts -- runs/own_parts
//! weightlab report compare runs/own_parts
//! ```
use std::path::Path;

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde_json::Value;
use weightlab::data::{DataSource, FaceSet, Split};
use weightlab::error::Result;
use weightlab::model::{ModelConfig, SharedTrunk};
use weightlab::report::compare::{compare, to_markdown, CompareOptions};
use weightlab::report::SweepLogs;
use weightlab::rng::Rng;
use weightlab::strategy::{weighted_sum, BuildContext, Objective, SettingsError};
use weightlab::strategy::{StepContext, Strategy};
use weightlab::sweep::{sinks, EventSink, RunOptions, Sweep, SweepOutcome};
use weightlab::train::Parts;

/// The trunk: one hidden layer on the raw pixels, then the last shared layer.
#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Linear,
    last: Linear,
}

impl Mlp {
    fn new(cfg: &ModelConfig, side: usize, device: &Device) -> Self {
        Mlp {
            hidden: LinearConfig::new(side * side, 64).init(device),
            last: LinearConfig::new(64, cfg.z_dim).init(device),
        }
    }
}

impl SharedTrunk for Mlp {
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let [batch, _, h, w] = images.dims();
        relu(self.hidden.forward(images.reshape([batch, h * w])))
    }

    fn last_shared(&self) -> &Linear {
        &self.last
    }
}

/// The strategy: each of two tasks weighted by its share of the step's total loss, so the task
/// that lags gets more weight, never less than `floor`. The weights are detached: no gradient
/// flows through them. Defined for two tasks, it refuses a study of more.
pub struct LossShare {
    floor: f64,
}

impl LossShare {
    fn build(
        settings: &Value,
        ctx: &BuildContext,
    ) -> std::result::Result<Box<dyn Strategy>, SettingsError> {
        SettingsError::two_tasks_only("loss_share", &ctx.tasks)?;
        let floor = settings["floor"].as_f64().unwrap_or(0.1);
        let message = format!("must be in [0, 0.5] (got {floor})");
        SettingsError::ensure((0.0..=0.5).contains(&floor), "floor", message)?;
        Ok(Box::new(LossShare { floor }))
    }
}

impl Strategy for LossShare {
    fn unit_lr(&self) -> Option<f64> {
        None // Ψ is not trained
    }

    fn objective(&mut self, ctx: StepContext<'_>) -> Objective {
        let losses = ctx.losses.detached(); // [2]
        let share = losses.clone().narrow(0, 0, 1) / losses.sum();
        let w_fv = share.clamp(self.floor, 1.0 - self.floor);
        let weights = Tensor::cat(vec![w_fv.clone(), w_fv.neg().add_scalar(1.0)], 0);
        let total = weighted_sum(weights.clone(), &ctx.losses);
        Objective {
            loss: total.clone(),
            weights,
            total,
            extra: None,
        }
    }
}

/// The data: 16×16 gratings, one frequency and orientation per subject (identity), a bright
/// corner per expression, and noise; 20 subjects, 4 test and 2 validation ones.
pub struct Stripes;

impl DataSource for Stripes {
    fn load(&self, name: &str) -> Result<(FaceSet, Split)> {
        let corners = ["top_left", "top_right", "bottom_left", "bottom_right"].map(String::from);
        let subjects = (0..20).map(|s| format!("s{s}")).collect();
        let mut set = FaceSet::new(name, 16, subjects, corners.to_vec());
        let mut rng = Rng::new(7);
        for s in 0..20 {
            let (freq, angle) = (0.4 + 0.15 * (s % 5) as f64, 0.5 * (s / 5) as f64);
            for (e, k) in (0..4).flat_map(|e| (0..4).map(move |k| (e, k))) {
                let phase = rng.range(0.0, 1.0);
                let pixel = |x: f64, y: f64, noise: f64| {
                    let corner = (x < 6.0) == (e % 2 == 0) && (y < 6.0) == (e < 2);
                    let grating = (freq * (x * angle.cos() + y * angle.sin()) + phase).sin();
                    (0.5 + 0.3 * grating + 0.3 * f64::from(u8::from(corner)) + noise)
                        .clamp(0.0, 1.0)
                };
                let image: Vec<f32> = (0..256)
                    .map(|i| pixel((i % 16) as f64, (i / 16) as f64, 0.05 * rng.normal()) as f32)
                    .collect();
                set.push(
                    s,
                    e,
                    format!("{name}/s{s}/{}/{k}", corners[e as usize]),
                    &image,
                );
            }
        }
        let split = Split::by_subjects(&set, &[16, 17, 18, 19], &[14, 15]);
        Ok((set, split))
    }
}

/// The parts this program adds to weightlab's own.
pub fn parts() -> Parts {
    Parts::new()
        .trunk("mlp", |cfg: &ModelConfig, side, device: &Device| {
            Mlp::new(cfg, side, device)
        })
        .strategy("loss_share", LossShare::build)
        .source("stripes", Stripes)
}

/// Run (or resume) the study of `examples/own_parts.yaml` in `out`, rendering events to `sink`.
pub fn run(out: &Path, opts: &RunOptions, sink: &mut dyn EventSink) -> Result<SweepOutcome> {
    let yaml = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/own_parts.yaml");
    let sweep = Sweep::load_with_parts(&yaml, Some(out.to_path_buf()), &[], parts())?;
    sweep.run(opts, &mut [sink])
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "runs/own_parts".into());
    let done = run(
        Path::new(&out),
        &RunOptions::default(),
        sinks::for_stderr().as_mut(),
    )?;
    println!("{} of {} jobs done in {out}", done.done, done.total);
    // The report reads the logs alone, as for any sweep.
    let opts = CompareOptions {
        baseline: Some("static w1=0.5".into()),
        ..Default::default()
    };
    let rows = compare(&SweepLogs::load(Path::new(&out))?, &out, &opts)?;
    println!("{}", to_markdown(&rows, &opts));
    Ok(())
}
