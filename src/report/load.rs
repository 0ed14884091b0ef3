//! Loading a sweep folder's finished jobs and grouping them into strategy points.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::runlog::{EpochRow, JobSummary, RunDir, StepRow};

/// Which epoch's accuracy stands for a job (`--metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    /// The last epoch.
    Final,
    /// The epoch with the highest accuracy (per task).
    Best,
}

impl Metric {
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
    /// What the epoch log sums up to (as in the run index).
    pub summary: JobSummary,
    /// Wall seconds of the job.
    pub wall_s: Option<f64>,
}

impl JobLogs {
    /// FV and EX accuracy under `metric`.
    pub fn accuracy(&self, metric: Metric) -> (f64, f64) {
        match metric {
            Metric::Final => (self.summary.final_fv_acc, self.summary.final_ex_acc),
            Metric::Best => (self.summary.best_fv_acc, self.summary.best_ex_acc),
        }
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

/// The sweep's name: from `experiment.yaml` even when it no longer validates (its datasets
/// may live on another machine), else the folder's name.
fn sweep_name(dir: &RunDir) -> String {
    let from_yaml = std::fs::read_to_string(dir.experiment())
        .ok()
        .and_then(|t| serde_yaml::from_str::<serde_yaml::Value>(&t).ok())
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string));
    from_yaml.unwrap_or_else(|| {
        dir.root()
            .file_name()
            .map_or("sweep".to_string(), |n| n.to_string_lossy().into_owned())
    })
}

impl SweepLogs {
    /// Read every job of `dir` whose status is `done` (only the jobs of its current
    /// `experiment.yaml` when it has a readable one: a folder whose experiment was edited keeps
    /// the old jobs' folders).
    pub fn load(dir: &Path) -> Result<Self> {
        let run_dir = RunDir::new(dir);
        let experiment = std::fs::read_to_string(run_dir.experiment())
            .ok()
            .and_then(|t| {
                crate::config::parse(&t, &run_dir.experiment().display().to_string()).ok()
            });
        let current: Option<Vec<String>> = experiment
            .as_ref()
            .and_then(|e| crate::config::expand(e).ok())
            .map(|jobs| jobs.into_iter().map(|j| j.run_id).collect());
        let mut done = run_dir.done_jobs()?;
        if let Some(ids) = &current {
            if done.iter().any(|jd| ids.contains(&jd.run_id())) {
                done.retain(|jd| ids.contains(&jd.run_id()));
            }
        }
        let mut jobs = Vec::new();
        for jd in done {
            let epochs = jd.read_epochs()?;
            let Some(summary) = JobSummary::of(&epochs) else {
                continue;
            };
            let first = &epochs[0];
            let record = jd.read_record().ok().flatten();
            let point_detail = record
                .as_ref()
                .map(|r| r.job.strategy.detail())
                .unwrap_or_default();
            let point_key = record
                .map(|r| {
                    let mut key = r.job;
                    key.seed = 0;
                    key.train.threads = 0;
                    key.train.checkpoint_every = 1;
                    serde_json::to_string(&key).unwrap_or_default()
                })
                .unwrap_or_else(|| {
                    format!("{}/{}/{:?}", first.dataset, first.strategy, first.static_w1)
                });
            jobs.push(JobLogs {
                run_id: jd.run_id(),
                dataset: first.dataset.clone(),
                strategy: first.strategy.clone(),
                static_w1: first.static_w1,
                seed: first.seed,
                point_key,
                point_detail,
                steps: jd.read_steps()?,
                summary,
                wall_s: jd.read_status()?.and_then(|s| s.wall_s),
                epochs,
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
            name: sweep_name(&run_dir),
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

/// Mean and sample standard deviation (n − 1; `None` below two values).
pub fn mean_std(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.len() >= 2)
        .then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, std)
}

/// A dynamic point of `jobs`, for unit tests.
#[cfg(test)]
pub(crate) fn test_point(jobs: Vec<&JobLogs>) -> Point<'_> {
    Point {
        dataset: "synth".into(),
        label: "dynamic".into(),
        strategy: "dynamic".into(),
        static_w1: None,
        jobs,
    }
}

/// A finished job's logs made in memory, for the figures' and tables' unit tests: `accs` are
/// (FV, EX) per epoch, `w_fv` the weight of every step (one step per epoch).
#[cfg(test)]
pub(crate) fn test_job(
    seed: i64,
    static_w1: Option<f64>,
    accs: &[(f64, f64)],
    w_fv: &[f64],
) -> JobLogs {
    let epochs: Vec<EpochRow> = accs
        .iter()
        .enumerate()
        .map(|(e, (fv, ex))| EpochRow {
            run_id: format!("r{seed}"),
            dataset: "synth".into(),
            strategy: if static_w1.is_some() {
                "static"
            } else {
                "dynamic"
            }
            .into(),
            static_w1,
            seed,
            epoch: e as i64 + 1,
            w_fv: w_fv.get(e).copied().unwrap_or(0.5),
            w_ex: 1.0 - w_fv.get(e).copied().unwrap_or(0.5),
            loss_fv: 1.0,
            loss_ex: 1.0,
            loss_total: 1.0,
            loss_l3: None,
            fv_acc: *fv,
            ex_acc: *ex,
            elapsed_s: 1.0,
            raw_w_fv: 0.5,
            raw_w_ex: 0.5,
        })
        .collect();
    let steps: Vec<StepRow> = w_fv
        .iter()
        .enumerate()
        .map(|(k, w)| StepRow {
            run_id: format!("r{seed}"),
            epoch: k as i64 + 1,
            step: k as i64 + 1,
            w_fv: *w,
            w_ex: 1.0 - w,
            loss_fv: 1.0,
            loss_ex: 1.0,
            raw_w_fv: *w,
            raw_w_ex: 1.0 - w,
        })
        .collect();
    JobLogs {
        run_id: format!("r{seed}"),
        dataset: "synth".into(),
        strategy: epochs[0].strategy.clone(),
        static_w1,
        seed,
        point_key: format!("{static_w1:?}"),
        point_detail: String::new(),
        summary: JobSummary::of(&epochs).expect("epochs"),
        epochs,
        steps,
        wall_s: Some(1.0),
    }
}
