//! Loading a sweep folder's finished jobs and grouping them into strategy points.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::runlog::{EpochRow, JobSummary, RunDir, StepRow};
use crate::strategy::static_label;
use crate::task::Tasks;

/// Which epoch's metrics stand for a job (`--metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    /// The epoch that model selection picks on the validation split (the best selection score
    /// of the validation metrics); a sweep without a validation split reads `final`.
    Selected,
    /// The last epoch.
    Final,
    /// The epoch with the best test metric, per task (an optimistic figure: it picks on the
    /// test split itself).
    Best,
}

impl Metric {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Selected => "selected",
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
    /// The weights of a static job, in task order.
    pub static_w: Option<Vec<f64>>,
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
    /// Each task's metric under `metric`, in task order (`selected` reads the last epoch's
    /// without a validation split).
    pub fn metrics(&self, metric: Metric) -> Vec<f64> {
        let s = &self.summary;
        match (metric, &s.selected_metrics) {
            (Metric::Selected, Some(selected)) => selected.clone(),
            (Metric::Selected | Metric::Final, _) => s.final_metrics.clone(),
            (Metric::Best, _) => s.best_metrics.clone(),
        }
    }

    /// The first task's weight of a two-task static job.
    pub fn static_w1(&self) -> Option<f64> {
        match self.static_w.as_deref() {
            Some([w1, _]) => Some(*w1),
            _ => None,
        }
    }

    /// The epoch that stands for the job under `metric` (`best`: the epoch with the best
    /// selection score of the test metrics).
    pub fn epoch(&self, metric: Metric) -> i64 {
        let s = &self.summary;
        match (metric, s.selected_epoch) {
            (Metric::Selected, Some(e)) => e,
            (Metric::Selected | Metric::Final, _) => s.epochs,
            (Metric::Best, _) => s.best_epoch,
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
    /// The weights of a static point, in task order.
    pub static_w: Option<Vec<f64>>,
    /// The point's jobs, one per seed.
    pub jobs: Vec<&'a JobLogs>,
}

impl Point<'_> {
    /// The first task's weight of a two-task static point.
    pub fn static_w1(&self) -> Option<f64> {
        match self.static_w.as_deref() {
            Some([w1, _]) => Some(*w1),
            _ => None,
        }
    }
}

/// The finished jobs of a sweep folder.
#[derive(Debug, Clone)]
pub struct SweepLogs {
    /// Sweep name (from `experiment.yaml`, else the folder name).
    pub name: String,
    /// The sweep's tasks (every job has them).
    pub tasks: Tasks,
    /// The experiment's seeds, in the order a sequential study spends them (the jobs' seeds
    /// in increasing order where the experiment is unreadable).
    pub seeds: Vec<u64>,
    /// The experiment's sequential design, if it has one.
    pub sequential: Option<crate::config::SequentialConfig>,
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
        let current: Option<std::collections::HashSet<String>> = experiment
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
        let mut tasks: Option<Tasks> = None;
        for jd in done {
            let record = jd.read_record().ok().flatten();
            let job_tasks = record
                .as_ref()
                .map(|r| r.job.tasks.clone())
                .unwrap_or_default();
            match &tasks {
                Some(t) if *t != job_tasks => {
                    return Err(Error::input(
                        dir.display().to_string(),
                        "DIR",
                        format!(
                            "job {} has the tasks {} and others have {}: one report reads one \
                             study; move it out or report the folders one by one",
                            jd.run_id(),
                            job_tasks.names().join(", "),
                            t.names().join(", ")
                        ),
                    ))
                }
                Some(_) => {}
                None => tasks = Some(job_tasks.clone()),
            }
            let epochs = jd.read_epochs(&job_tasks)?;
            let Some(summary) = JobSummary::of(&epochs, &job_tasks) else {
                continue;
            };
            let first = &epochs[0];
            let point_detail = record
                .as_ref()
                .map(|r| r.job.strategy.detail())
                .unwrap_or_default();
            let point_key = record.map(|r| r.job.point_key()).unwrap_or_else(|| {
                format!("{}/{}/{:?}", first.dataset, first.strategy, first.static_w)
            });
            jobs.push(JobLogs {
                run_id: jd.run_id(),
                dataset: first.dataset.clone(),
                strategy: first.strategy.clone(),
                static_w: first.static_w.clone(),
                seed: first.seed,
                point_key,
                point_detail,
                steps: jd.read_steps(&job_tasks)?,
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
        let seeds = match &experiment {
            Some(e) => e.seeds.clone(),
            None => {
                let mut s: Vec<u64> = jobs.iter().map(|j| j.seed as u64).collect();
                s.sort_unstable();
                s.dedup();
                s
            }
        };
        Ok(Self {
            name: sweep_name(&run_dir),
            tasks: tasks.unwrap_or_default(),
            seeds,
            sequential: experiment.and_then(|e| e.sequential),
            jobs,
        })
    }

    /// The finished jobs of several sweep folders that hold the same experiment apart from its
    /// seeds, as one sweep (`report compare --pool`): their seeds are pooled. Folders whose
    /// experiments differ in anything else than `seeds` (and the name, the thread count and the
    /// checkpoint interval, which do not change results) are an input error naming the first
    /// difference. A job that two folders both hold (same run id) counts once.
    pub fn load_pooled(dirs: &[PathBuf]) -> Result<Self> {
        let Some(first) = dirs.first() else {
            return Err(Error::input("--pool", "DIR", "no sweep folder given"));
        };
        let reference = pooling_key(first)?;
        for dir in &dirs[1..] {
            if let Some(difference) = first_difference(&reference, &pooling_key(dir)?, "") {
                return Err(Error::input(
                    "--pool",
                    difference.0,
                    format!(
                        "{} and {} hold different experiments ({}), so their seeds cannot be \
                         pooled; compare them side by side without --pool",
                        first.display(),
                        dir.display(),
                        difference.1
                    ),
                ));
            }
        }
        let mut pooled = Self::load(first)?;
        for dir in &dirs[1..] {
            for job in Self::load(dir)?.jobs {
                if pooled.jobs.iter().any(|j| j.run_id == job.run_id) {
                    tracing::info!(run_id = %job.run_id, folder = %dir.display(), "job held by two pooled folders; counted once");
                    continue;
                }
                pooled.jobs.push(job);
            }
        }
        pooled.jobs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        let mut seeds: Vec<u64> = pooled.jobs.iter().map(|j| j.seed as u64).collect();
        seeds.sort_unstable();
        seeds.dedup();
        pooled.seeds = seeds;
        Ok(pooled)
    }

    /// `metric` as these logs can answer it: `selected` becomes `final` when no job logged a
    /// validation score.
    pub fn effective(&self, metric: Metric) -> Metric {
        if metric == Metric::Selected
            && !self.jobs.iter().any(|j| j.summary.selected_epoch.is_some())
        {
            Metric::Final
        } else {
            metric
        }
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
        let names = self.tasks.names();
        let mut points: Vec<Point<'_>> = groups
            .into_values()
            .map(|jobs| {
                let j = jobs[0];
                let label = match &j.static_w {
                    Some(w) => static_label(w, &names),
                    None if j.point_detail.is_empty() => j.strategy.clone(),
                    None => format!("{} {}", j.strategy, j.point_detail),
                };
                Point {
                    dataset: j.dataset.clone(),
                    label,
                    strategy: j.strategy.clone(),
                    static_w: j.static_w.clone(),
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
            let key = |p: &Point<'_>| {
                (
                    p.dataset.clone(),
                    p.static_w.is_none(),
                    p.static_w.clone().unwrap_or_default(),
                    p.label.clone(),
                )
            };
            key(a)
                .partial_cmp(&key(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        points
    }
}

/// The experiment of a sweep folder as pooling compares it: its resolved YAML without what may
/// differ between folders whose seeds are pooled.
fn pooling_key(dir: &Path) -> Result<serde_yaml::Value> {
    let path = RunDir::new(dir).experiment();
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, "cannot read", e))?;
    // Parsed without validation: a pooled folder's datasets may live on another machine.
    let exp: crate::config::Experiment = serde_yaml::from_str(&text).map_err(|e| {
        Error::input(
            path.display().to_string(),
            "(file)",
            format!("not an experiment: {e}"),
        )
    })?;
    let mut value = serde_yaml::to_value(&exp)
        .map_err(|e| Error::Failed(format!("cannot compare experiments: {e}")))?;
    if let Some(map) = value.as_mapping_mut() {
        map.remove("seeds");
        map.remove("name");
        if let Some(train) = map.get_mut("train").and_then(|t| t.as_mapping_mut()) {
            train.remove("threads");
            train.remove("checkpoint_every");
        }
    }
    Ok(value)
}

/// The first place where `a` and `b` differ: its dotted path and what each holds there.
fn first_difference(
    a: &serde_yaml::Value,
    b: &serde_yaml::Value,
    at: &str,
) -> Option<(String, String)> {
    use serde_yaml::Value;
    let here = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    let show = |v: Option<&Value>| {
        v.map_or("nothing".to_string(), |v| {
            serde_yaml::to_string(v)
                .unwrap_or_default()
                .trim()
                .replace('\n', " ")
        })
    };
    match (a, b) {
        (Value::Mapping(ma), Value::Mapping(mb)) => {
            let mut keys: Vec<&Value> = ma.keys().collect();
            keys.extend(mb.keys().filter(|k| !ma.contains_key(*k)));
            for k in keys {
                let name = k.as_str().map_or_else(|| show(Some(k)), str::to_string);
                match (ma.get(k), mb.get(k)) {
                    (Some(x), Some(y)) => {
                        if let Some(d) = first_difference(x, y, &here(&name)) {
                            return Some(d);
                        }
                    }
                    (x, y) => {
                        return Some((
                            here(&name),
                            format!("{}: {} against {}", here(&name), show(x), show(y)),
                        ))
                    }
                }
            }
            None
        }
        (Value::Sequence(sa), Value::Sequence(sb)) => {
            for (i, (x, y)) in sa.iter().zip(sb).enumerate() {
                if let Some(d) = first_difference(x, y, &here(&i.to_string())) {
                    return Some(d);
                }
            }
            (sa.len() != sb.len()).then(|| {
                (
                    at.to_string(),
                    format!("{at}: {} entries against {}", sa.len(), sb.len()),
                )
            })
        }
        (x, y) if x == y => None,
        (x, y) => Some((
            at.to_string(),
            format!("{at}: {} against {}", show(Some(x)), show(Some(y))),
        )),
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
        static_w: None,
        jobs,
    }
}

/// A finished two-task job's logs made in memory, for the figures' and tables' unit tests:
/// `accs` are (FV, EX) per epoch, `w_fv` the weight of every step (one step per epoch).
#[cfg(test)]
pub(crate) fn test_job(
    seed: i64,
    static_w1: Option<f64>,
    accs: &[(f64, f64)],
    w_fv: &[f64],
) -> JobLogs {
    let metrics: Vec<Vec<f64>> = accs.iter().map(|(fv, ex)| vec![*fv, *ex]).collect();
    let w: Vec<Vec<f64>> = w_fv.iter().map(|w| vec![*w, 1.0 - w]).collect();
    test_job_n(
        &Tasks::default(),
        seed,
        static_w1.map(|w1| vec![w1, 1.0 - w1]),
        &metrics,
        &w,
    )
}

/// A finished job of `tasks` made in memory: `metrics` per epoch (one per task), `w` the
/// weights of every step (one step per epoch).
#[cfg(test)]
pub(crate) fn test_job_n(
    tasks: &Tasks,
    seed: i64,
    static_w: Option<Vec<f64>>,
    metrics: &[Vec<f64>],
    w: &[Vec<f64>],
) -> JobLogs {
    let n = tasks.len();
    let equal = vec![1.0 / n as f64; n];
    let epochs: Vec<EpochRow> = metrics
        .iter()
        .enumerate()
        .map(|(e, m)| EpochRow {
            run_id: format!("r{seed}"),
            dataset: "synth".into(),
            strategy: if static_w.is_some() {
                "static"
            } else {
                "dynamic"
            }
            .into(),
            static_w: static_w.clone(),
            seed,
            epoch: e as i64 + 1,
            w: w.get(e).cloned().unwrap_or_else(|| equal.clone()),
            loss: vec![1.0; n],
            loss_total: 1.0,
            loss_l3: None,
            test: m.clone(),
            elapsed_s: 1.0,
            raw_w: equal.clone(),
            val: vec![None; n],
        })
        .collect();
    let steps: Vec<StepRow> = w
        .iter()
        .enumerate()
        .map(|(k, w)| StepRow {
            run_id: format!("r{seed}"),
            epoch: k as i64 + 1,
            step: k as i64 + 1,
            w: w.clone(),
            loss: vec![1.0; n],
            raw_w: w.clone(),
        })
        .collect();
    JobLogs {
        run_id: format!("r{seed}"),
        dataset: "synth".into(),
        strategy: epochs[0].strategy.clone(),
        static_w: static_w.clone(),
        seed,
        point_key: format!("{static_w:?}"),
        point_detail: String::new(),
        summary: JobSummary::of(&epochs, tasks).expect("epochs"),
        epochs,
        steps,
        wall_s: Some(1.0),
    }
}
