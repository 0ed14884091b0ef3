//! Loading a sweep folder's finished jobs and grouping them into strategy points.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::ResolvedJob;
use crate::error::{Error, Result};
use crate::runlog::{read_epochs, read_steps, EpochRow, JobState, RunDir, Status, StepRow};

/// Which epoch's accuracy stands for a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// The last epoch.
    Final,
    /// The epoch with the highest accuracy (per task).
    Best,
}

impl Metric {
    /// Parse `final` or `best`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "final" => Ok(Metric::Final),
            "best" => Ok(Metric::Best),
            other => Err(Error::input(
                "--metric",
                "metric",
                format!("`{other}`: use final or best"),
            )),
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Final => "final",
            Metric::Best => "best",
        }
    }
}

/// The logs of one finished job.
#[derive(Debug, Clone)]
pub struct JobLogs {
    /// Stable id.
    pub run_id: String,
    /// Dataset label.
    pub dataset: String,
    /// Strategy name.
    pub strategy: String,
    /// Fixed w1 of a static job.
    pub static_w1: Option<f64>,
    /// Training seed.
    pub seed: i64,
    /// Grouping key of the strategy point (its resolved config without the seed).
    pub point_key: String,
    /// The strategy point's settings that differ from the strategy's defaults, e.g.
    /// `normalize_logits=true` (empty for static points and default settings).
    pub point_detail: String,
    /// Per-epoch rows.
    pub epochs: Vec<EpochRow>,
    /// Per-step rows.
    pub steps: Vec<StepRow>,
    /// Wall seconds of the job.
    pub wall_s: Option<f64>,
}

impl JobLogs {
    /// FV and EX accuracy under `metric`.
    pub fn accuracy(&self, metric: Metric) -> (f64, f64) {
        match metric {
            Metric::Final => self
                .epochs
                .last()
                .map_or((f64::NAN, f64::NAN), |r| (r.fv_acc, r.ex_acc)),
            Metric::Best => (
                self.epochs
                    .iter()
                    .map(|r| r.fv_acc)
                    .fold(f64::NAN, f64::max),
                self.epochs
                    .iter()
                    .map(|r| r.ex_acc)
                    .fold(f64::NAN, f64::max),
            ),
        }
    }

    /// Epoch with the highest mean of the two accuracies.
    pub fn best_epoch(&self) -> Option<i64> {
        crate::runlog::best_epoch(&self.epochs)
    }

    /// Mean w_fv over the epochs.
    pub fn mean_w_fv(&self) -> f64 {
        self.epochs.iter().map(|r| r.w_fv).sum::<f64>() / self.epochs.len().max(1) as f64
    }
}

/// One strategy point of one dataset: its jobs over seeds.
#[derive(Debug, Clone)]
pub struct Point<'a> {
    /// Dataset label.
    pub dataset: String,
    /// Display label, e.g. `static w1=0.3`, `l3`.
    pub label: String,
    /// Strategy name.
    pub strategy: String,
    /// Fixed w1 of a static point.
    pub static_w1: Option<f64>,
    /// The point's jobs, one per seed.
    pub jobs: Vec<&'a JobLogs>,
}

/// The finished jobs of a sweep folder.
#[derive(Debug, Clone)]
pub struct SweepLogs {
    /// Sweep name (from `experiment.yaml`, else the folder name).
    pub name: String,
    /// Finished jobs, sorted by run id.
    pub jobs: Vec<JobLogs>,
}

fn sweep_name(dir: &Path) -> String {
    let from_yaml = std::fs::read_to_string(dir.join("experiment.yaml"))
        .ok()
        .and_then(|t| serde_yaml::from_str::<serde_yaml::Value>(&t).ok())
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string));
    from_yaml.unwrap_or_else(|| {
        dir.file_name()
            .map_or("sweep".to_string(), |n| n.to_string_lossy().into_owned())
    })
}

impl SweepLogs {
    /// Read every job of `dir` whose status is `done`.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::input(
                dir.display().to_string(),
                "DIR",
                "no such sweep folder",
            ));
        }
        let run_dir = RunDir::new(dir);
        let mut jobs = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "cannot list", e))?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // A folder whose experiment was edited keeps the old jobs' folders; report only the
        // jobs of the current experiment.yaml (all folders when it cannot be read).
        let current: Option<Vec<String>> = std::fs::read_to_string(run_dir.experiment())
            .ok()
            .and_then(|t| {
                crate::config::parse(&t, &run_dir.experiment().display().to_string()).ok()
            })
            .map(|e| {
                crate::config::expand(&e)
                    .into_iter()
                    .map(|j| j.run_id)
                    .collect()
            });
        if let Some(ids) = &current {
            if names.iter().any(|n| ids.contains(n)) {
                names.retain(|n| ids.contains(n));
            }
        }
        for run_id in names {
            let jd = run_dir.job(&run_id);
            let Some(status) = Status::read(&jd.status())? else {
                continue;
            };
            if status.state != JobState::Done {
                continue;
            }
            let epochs = read_epochs(&jd.epochs())?;
            let steps = read_steps(&jd.steps())?;
            let Some(first) = epochs.first() else {
                continue;
            };
            let resolved = std::fs::read_to_string(jd.run_yaml())
                .ok()
                .and_then(|t| serde_yaml::from_str::<ResolvedJob>(&strip_ids(&t)).ok());
            let point_detail = resolved
                .as_ref()
                .map(|r| r.strategy.detail())
                .unwrap_or_default();
            let point_key = resolved
                .map(|mut r| {
                    r.seed = 0;
                    r.train.threads = 0;
                    serde_json::to_string(&r).unwrap_or_default()
                })
                .unwrap_or_else(|| {
                    format!("{}/{}/{:?}", first.dataset, first.strategy, first.static_w1)
                });
            jobs.push(JobLogs {
                run_id: run_id.clone(),
                dataset: first.dataset.clone(),
                strategy: first.strategy.clone(),
                static_w1: first.static_w1,
                seed: first.seed,
                point_key,
                point_detail,
                epochs,
                steps,
                wall_s: status.wall_s,
            });
        }
        if jobs.is_empty() {
            return Err(Error::input(
                dir.display().to_string(),
                "DIR",
                "no finished jobs in this folder; run `weightlab sweep run` first",
            ));
        }
        Ok(Self {
            name: sweep_name(dir),
            jobs,
        })
    }

    /// Dataset labels in first-seen order.
    pub fn datasets(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for j in &self.jobs {
            if !v.contains(&j.dataset) {
                v.push(j.dataset.clone());
            }
        }
        v
    }

    /// The strategy points: static ones sorted by w1, then dynamic ones by label.
    pub fn points(&self) -> Vec<Point<'_>> {
        let mut groups: BTreeMap<(String, String), Vec<&JobLogs>> = BTreeMap::new();
        for j in &self.jobs {
            groups
                .entry((j.dataset.clone(), j.point_key.clone()))
                .or_default()
                .push(j);
        }
        let mut points: Vec<Point<'_>> = groups
            .into_values()
            .map(|jobs| {
                let j = jobs[0];
                let label = match j.static_w1 {
                    Some(w) => format!("static w1={}", crate::strategy::format_w1(w)),
                    None if j.point_detail.is_empty() => j.strategy.clone(),
                    None => format!("{} {}", j.strategy, j.point_detail),
                };
                Point {
                    dataset: j.dataset.clone(),
                    label,
                    strategy: j.strategy.clone(),
                    static_w1: j.static_w1,
                    jobs,
                }
            })
            .collect();
        // Two dynamic points with one name (e.g. l3 at two learning rates) get their first
        // run id's hash as a suffix.
        let labels: Vec<(String, String)> = points
            .iter()
            .map(|p| (p.dataset.clone(), p.label.clone()))
            .collect();
        for p in points.iter_mut() {
            if labels
                .iter()
                .filter(|l| l.0 == p.dataset && l.1 == p.label)
                .count()
                > 1
            {
                let id = &p.jobs[0].run_id;
                p.label = format!("{} [{}]", p.label, id.rsplit('-').next().unwrap_or(id));
            }
        }
        points.sort_by(|a, b| {
            (
                a.dataset.as_str(),
                a.static_w1.is_none(),
                a.static_w1.unwrap_or(0.0),
                a.label.as_str(),
            )
                .partial_cmp(&(
                    b.dataset.as_str(),
                    b.static_w1.is_none(),
                    b.static_w1.unwrap_or(0.0),
                    b.label.as_str(),
                ))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        points
    }
}

/// `run.yaml` carries `run_id` and `config_hash` after the resolved config; drop them.
fn strip_ids(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("run_id:") && !l.starts_with("config_hash:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Mean and sample standard deviation (n − 1; `None` below two values).
pub fn mean_std(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.len() >= 2)
        .then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, std)
}
