//! `sequential:` in the experiment: seeds run in rounds, and each strategy point stops when its
//! verdict against the reference is decided (docs/sequential.md). The looks are seed counts
//! fixed before the study runs; the decisions are weightlab-stats' designs.

use serde::{Deserialize, Serialize};
use weightlab_stats::{Design, Looks, Plan, PlanError};

/// A sequential design's name in the YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DesignName {
    /// Repeated confidence intervals with O'Brien–Fleming-type alpha spending (the default).
    #[default]
    GroupSequential,
    /// Confidence sequences of the t-test e-process, for an open budget.
    AnytimeValid,
}

impl DesignName {
    /// The design it names.
    pub fn design(self) -> Design {
        match self {
            DesignName::GroupSequential => Design::GroupSequential,
            DesignName::AnytimeValid => Design::AnytimeValid,
        }
    }
}

/// The looks: `{ first: 10, every: 5, max: 40 }` or a list of seed counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum LooksConfig {
    /// First at `first` paired seeds, then every `every`, the last at `max`.
    Every {
        /// Seeds at the first look (≥ 3).
        first: usize,
        /// Seeds a round adds.
        every: usize,
        /// Seeds at the last look.
        max: usize,
    },
    /// Looks at these seed counts, increasing.
    At(Vec<usize>),
}

/// The `{first, every, max}` form, with no other key: a look must not depend on the data.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EveryForm {
    first: usize,
    every: usize,
    max: usize,
}

impl<'de> Deserialize<'de> for LooksConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        // The full path in the message: an untagged enum's error names only its parent.
        let fail = |e: serde_yaml::Error| {
            D::Error::custom(format!(
                "sequential.looks: {e}; looks are seed counts fixed before the study runs: {{ first: 10, every: 5, max: 40 }} or [10, 15, 20]"
            ))
        };
        match serde_yaml::Value::deserialize(d)? {
            v @ serde_yaml::Value::Sequence(_) => {
                serde_yaml::from_value(v).map(LooksConfig::At).map_err(fail)
            }
            v => serde_yaml::from_value::<EveryForm>(v)
                .map(|f| LooksConfig::Every {
                    first: f.first,
                    every: f.every,
                    max: f.max,
                })
                .map_err(fail),
        }
    }
}

/// How much a sequential study may spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Jobs in all (the reference's included): a round that would pass it does not start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<usize>,
    /// Job-hours in all: the summed wall time of the study's jobs. A round that would pass it,
    /// at the mean wall time of the jobs run so far, does not start (the first round always
    /// does: nothing is known about a job's time before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<f64>,
}

/// `sequential:` — how the seeds are spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequentialConfig {
    /// The design.
    #[serde(default)]
    pub design: DesignName,
    /// When the points are looked at, in paired seeds, taken in the order of `seeds:`.
    pub looks: LooksConfig,
    /// The equivalence margin on Δp, in %: a point whose interval lies inside ±margin is
    /// `equivalent` and stops.
    pub margin: f64,
    /// The family-wise error rate over the points of a dataset.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// The point every other is compared with (its label, as in `report compare
    /// --baseline`); the study's default baseline when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The most jobs the study may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

fn default_alpha() -> f64 {
    0.05
}

impl SequentialConfig {
    /// The looks as weightlab-stats takes them.
    pub fn looks(&self) -> Looks {
        match &self.looks {
            LooksConfig::Every { first, every, max } => Looks::Every {
                first: *first,
                every: *every,
                max: *max,
            },
            LooksConfig::At(v) => Looks::At(v.clone()),
        }
    }

    /// The plan for `points` points (K, the reference not counted).
    pub fn plan(&self, points: usize) -> Result<Plan, PlanError> {
        Plan::new(
            self.design.design(),
            &self.looks(),
            self.alpha,
            self.margin,
            points,
        )
    }

    /// The seed counts of the looks (checked).
    pub fn look_seeds(&self) -> Result<Vec<usize>, PlanError> {
        self.looks().seeds()
    }
}
