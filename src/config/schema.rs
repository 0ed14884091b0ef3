//! The experiment YAML, v1 (every key is documented in the README's "The experiment YAML"
//! section).

use serde::{Deserialize, Serialize};

use super::{SequentialConfig, TrainConfig, TrainerConfig};
use crate::data::DatasetSpec;
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use crate::strategy::StrategySpec;
use crate::task::Tasks;

/// A whole study: datasets × strategy points × seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Name of the sweep; the default output folder is `runs/<name>`.
    pub name: String,
    /// Repeats of every (dataset, strategy point).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Compute backend; `--device` overrides it.
    #[serde(default)]
    pub device: BackendKind,
    /// The tasks, in the order of weights and columns: the face model's `fv` and `ex` when
    /// absent (the paper's study).
    #[serde(default, skip_serializing_if = "Tasks::is_default")]
    pub tasks: Tasks,
    /// A training program of your own, run as a process for every job in place of the face
    /// model (docs/trainer-contract.md); `None`: weightlab's own trainer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trainer: Option<TrainerConfig>,
    /// The datasets.
    pub datasets: Vec<DatasetSpec>,
    /// The network.
    #[serde(default)]
    pub model: ModelConfig,
    /// Training settings shared by every job.
    #[serde(default)]
    pub train: TrainConfig,
    /// The weighting strategies (`- l3: {...}`: one-key maps, not YAML tags).
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    pub strategies: Vec<StrategySpec>,
    /// What is logged.
    #[serde(default)]
    pub log: LogConfig,
    /// Seeds in rounds, each point stopped when its verdict is decided (docs/sequential.md);
    /// `None`: every point runs every seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<SequentialConfig>,
}

fn default_seeds() -> Vec<u64> {
    vec![1]
}

/// Logging settings (`log:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Write a `steps.parquet` row every this many steps (0 = no step log).
    #[serde(default = "default_every")]
    pub every_steps: usize,
}

fn default_every() -> usize {
    1
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { every_steps: 1 }
    }
}

/// The GPU adapter a wgpu sweep ran on, as the driver reports it (recorded in the run folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adapter {
    /// The adapter's name, e.g. `NVIDIA H200`.
    pub name: String,
    /// Driver name and version.
    pub driver: String,
    /// Graphics API: Vulkan, Metal, Dx12, Gl.
    pub api: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu or Cpu (a software rasteriser such as lavapipe).
    pub device_type: String,
}

/// The compute backend (`device:` in the YAML, `--device` on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// burn's pure-Rust CPU backend.
    #[default]
    #[value(alias = "cpu")]
    Flex,
    /// burn's wgpu backend (GPU through Vulkan, Metal or DX12); needs the `wgpu` cargo feature.
    #[value(alias = "gpu")]
    Wgpu,
}

impl BackendKind {
    /// The burn device, or an input error when this build lacks the backend.
    pub fn device(self) -> Result<burn::prelude::Device> {
        match self {
            BackendKind::Flex => Ok(burn::prelude::Device::flex()),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => Ok(burn::prelude::Device::wgpu(Default::default())),
            #[cfg(not(feature = "wgpu"))]
            BackendKind::Wgpu => Err(Error::input(
                "--device",
                "device",
                "this weightlab was built without the GPU backend; rebuild with `cargo build --release --features wgpu`",
            )),
        }
    }

    /// The burn device and, on wgpu, the adapter it runs on (initialised here, once per
    /// process). The adapter's description says which GPU, driver and graphics API ran.
    pub fn open(self) -> Result<(burn::prelude::Device, Option<Adapter>)> {
        match self {
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => {
                let (device, setup) = burn::prelude::Device::wgpu_options()
                    .init_with_setup()
                    .map_err(|e| Error::Backend(format!("cannot start the GPU backend: {e:?}")))?;
                let info = setup.adapter.get_info();
                Ok((
                    device,
                    Some(Adapter {
                        name: info.name,
                        driver: format!("{} {}", info.driver, info.driver_info)
                            .trim()
                            .to_string(),
                        api: format!("{:?}", info.backend),
                        device_type: format!("{:?}", info.device_type),
                    }),
                ))
            }
            other => Ok((other.device()?, None)),
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Wgpu => "wgpu",
        }
    }
}
