//! The Slurm executor: a sweep handed to Slurm as one job array, one array task per job that
//! is not done, each task running `weightlab sweep job <dir> --index $SLURM_ARRAY_TASK_ID`.
//!
//! The array task ids are the jobs' indices, so a task maps to its job without a lookup table.
//! Submissions are recorded in the sweep folder (see [`RunDir::slurm_submissions`]);
//! resubmitting skips jobs that are done and jobs whose task Slurm still lists as pending or
//! running. [`preview`] shows what [`submit`] would submit and changes nothing on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::{RunOptions, Sweep};
use crate::error::{Error, Result};
use crate::files::atomic_write;
use crate::runlog::RunDir;

/// Command-line choices of `sweep run --executor slurm`.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (HH:MM:SS).
    pub time: Option<String>,
    /// `--cpus-per-task` (default: `train.threads`).
    pub cpus_per_task: Option<usize>,
    /// At most this many array tasks at once (`--array=…%K`).
    pub array_parallelism: Option<usize>,
    /// Extra `#SBATCH` lines, e.g. `--mem=4G`.
    pub sbatch_args: Vec<String>,
    /// Which jobs to submit (`retry_failed`, `fresh`) and the `--device` each task gets.
    pub run: RunOptions,
    /// Seconds before the time limit at which Slurm warns a task with SIGTERM, so that it
    /// checkpoints and is requeued (`--signal=B:TERM@…`); 0 asks for no warning.
    pub signal_before: u64,
}

/// One `sbatch` submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Slurm's job id of the array.
    pub job_id: String,
    /// The job indices (= array task ids) it holds.
    pub indices: Vec<usize>,
    /// Unix seconds of the submission.
    pub submitted_at: u64,
}

/// What [`submit`] did, or what [`preview`] would do.
#[derive(Debug, Clone)]
pub struct SubmitOutcome {
    /// Where the script is (or would be) written.
    pub script: PathBuf,
    /// Its text.
    pub text: String,
    /// The job indices in the array (empty: nothing left to submit).
    pub indices: Vec<usize>,
    /// Slurm's job id, when submitted.
    pub job_id: Option<String>,
}

/// The submissions recorded in the sweep folder `root`.
pub fn submissions(root: &Path) -> Result<Vec<Submission>> {
    let path = RunDir::new(root).slurm_submissions();
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::log(&path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(&path, "cannot read", e)),
    }
}

fn run_tool(program: &str, args: &[String]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Parse `<job>_<task>|<STATE>` lines (squeue `-r -o "%i|%T"`, sacct `-P -o JobID,State`) into
/// task index → state, for the array ids in `ids`.
fn parse_states(text: &str, ids: &[String]) -> BTreeMap<usize, String> {
    let mut states = BTreeMap::new();
    for line in text.lines() {
        let mut parts = line.trim().split('|');
        let (Some(id), Some(state)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Some((job, task)) = id.split_once('_') else {
            continue;
        };
        if !ids.iter().any(|i| i == job) {
            continue;
        }
        if let Ok(task) = task.parse::<usize>() {
            states.insert(
                task,
                state.split_whitespace().next().unwrap_or(state).to_string(),
            );
        }
    }
    states
}

/// Slurm's state of each recorded array task (job index → state). squeue knows pending and
/// running tasks; sacct, where accounting is configured, also finished ones. Tasks neither
/// lists are absent.
pub fn task_states(root: &Path) -> Result<BTreeMap<usize, String>> {
    let subs = submissions(root)?;
    if subs.is_empty() {
        return Ok(BTreeMap::new());
    }
    // The latest submission of an index wins.
    let ids: Vec<String> = subs.iter().map(|s| s.job_id.clone()).collect();
    let list = ids.join(",");
    let mut states = BTreeMap::new();
    if let Some(text) = run_tool(
        "sacct",
        &[
            "-n".into(),
            "-P".into(),
            "-X".into(),
            "-j".into(),
            list.clone(),
            "-o".into(),
            "JobID,State".into(),
        ],
    ) {
        states.extend(parse_states(&text, &ids));
    }
    if let Some(text) = run_tool(
        "squeue",
        &[
            "-h".into(),
            "-r".into(),
            "-j".into(),
            list,
            "-o".into(),
            "%i|%T".into(),
        ],
    ) {
        states.extend(parse_states(&text, &ids));
    }
    Ok(states)
}

/// Whether a Slurm state means the task will still run or is running.
pub fn is_active(state: &str) -> bool {
    matches!(
        state,
        "PENDING"
            | "RUNNING"
            | "CONFIGURING"
            | "COMPLETING"
            | "REQUEUED"
            | "RESIZING"
            | "SUSPENDED"
    )
}

fn script(sweep: &Sweep, root: &Path, indices: &[usize], opts: &SlurmOptions) -> Result<String> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Failed(format!("cannot locate the weightlab binary: {e}")))?;
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Failed(format!("cannot read the working folder: {e}")))?;
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let ranges = compress(indices);
    let array = match opts.array_parallelism {
        Some(k) => format!("{ranges}%{k}"),
        None => ranges,
    };
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!(
        "#SBATCH --job-name=weightlab-{}\n",
        sweep.experiment.name
    ));
    s.push_str(&format!("#SBATCH --array={array}\n"));
    s.push_str(&format!(
        "#SBATCH --cpus-per-task={}\n",
        opts.cpus_per_task.unwrap_or(sweep.experiment.train.threads)
    ));
    if let Some(t) = &opts.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    if let Some(p) = &opts.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        RunDir::slurm_output_pattern(root)
    ));
    if opts.signal_before > 0 {
        s.push_str(&format!("#SBATCH --signal=B:TERM@{}\n", opts.signal_before));
    }
    s.push_str("#SBATCH --requeue\n");
    for arg in &opts.sbatch_args {
        s.push_str(&format!("#SBATCH {arg}\n"));
    }
    s.push_str("\n# One task per weightlab job; the array task id is the job index.\n");
    s.push_str(&format!("cd {}\n", quote(&cwd)));
    let device = opts
        .run
        .device
        .map(|d| format!(" --device {}", d.as_str()))
        .unwrap_or_default();
    s.push_str(
        "# A stop signal (the time limit's warning, a preemption) reaches weightlab, which\n\
         # finishes its step, writes a checkpoint and exits 143; the task is then requeued and\n\
         # resumes from that checkpoint.\n\
         trap 'kill -TERM \"$child\" 2>/dev/null' TERM\n",
    );
    s.push_str(&format!(
        "{} sweep job {} --index \"$SLURM_ARRAY_TASK_ID\"{device} &\n",
        quote(&exe),
        quote(root)
    ));
    s.push_str(
        "child=$!\n\
         wait \"$child\"; rc=$?\n\
         while kill -0 \"$child\" 2>/dev/null; do wait \"$child\"; rc=$?; done\n\
         if [ \"$rc\" -eq 143 ]; then\n  \
         scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\" || true\n\
         fi\n\
         exit \"$rc\"\n",
    );
    Ok(s)
}

/// `0,1,2,5,7,8` → `0-2,5,7-8`.
pub fn compress(indices: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// Indices of the jobs whose array task Slurm lists as pending or running.
fn active_tasks(sweep: &Sweep, opts: &SlurmOptions) -> Result<Vec<usize>> {
    if !sweep.dir.root().exists() || opts.run.fresh {
        return Ok(Vec::new());
    }
    Ok(task_states(sweep.dir.root())?
        .into_iter()
        .filter(|(_, s)| is_active(s))
        .map(|(i, _)| i)
        .collect())
}

/// The folder as an absolute path, for the script (tasks may start elsewhere). A folder that
/// does not exist yet is resolved against the working folder.
fn absolute_root(sweep: &Sweep) -> Result<PathBuf> {
    let root = sweep.dir.root();
    if root.exists() {
        return root
            .canonicalize()
            .map_err(|e| Error::io(root, "cannot resolve", e));
    }
    let cwd = std::env::current_dir()
        .map_err(|e| Error::Failed(format!("cannot read the working folder: {e}")))?;
    Ok(cwd.join(root))
}

/// The script [`submit`] would write and the jobs it would hold, without touching the disk or
/// Slurm's queue (`sweep run --executor slurm --dry-run`).
pub fn preview(sweep: &Sweep, opts: &SlurmOptions) -> Result<SubmitOutcome> {
    let active = active_tasks(sweep, opts)?;
    let (to_run, _) = sweep.select(&opts.run, &|job| active.contains(&job.index))?;
    let indices: Vec<usize> = to_run.iter().map(|p| p.job.index).collect();
    let text = script(sweep, &absolute_root(sweep)?, &indices, opts)?;
    Ok(SubmitOutcome {
        script: sweep.dir.slurm_script(),
        text,
        indices,
        job_id: None,
    })
}

/// Write the array script for every job that is not done (failed ones with `retry_failed`) and
/// not pending or running in Slurm, and submit it with `sbatch --parsable`.
pub fn submit(sweep: &Sweep, opts: &SlurmOptions) -> Result<SubmitOutcome> {
    let active = active_tasks(sweep, opts)?;
    let prepared = sweep.prepare(&opts.run, &|job| active.contains(&job.index))?;
    let indices: Vec<usize> = prepared.run_jobs.iter().map(|j| j.index).collect();
    let dir = sweep.dir.slurm();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "cannot create folder", e))?;
    let path = sweep.dir.slurm_script();
    let text = script(sweep, &absolute_root(sweep)?, &indices, opts)?;
    atomic_write(&path, text.as_bytes())?;
    if indices.is_empty() {
        return Ok(SubmitOutcome {
            script: path,
            text,
            indices,
            job_id: None,
        });
    }
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(&path)
        .output()
        .map_err(|e| {
            Error::Failed(format!(
                "cannot run sbatch ({e}); is Slurm installed and on PATH?"
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "sbatch refused {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let job_id = stdout.trim().split(';').next().unwrap_or("").to_string();
    let mut subs = submissions(sweep.dir.root())?;
    subs.push(Submission {
        job_id: job_id.clone(),
        indices: indices.clone(),
        submitted_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    });
    let record = sweep.dir.slurm_submissions();
    let json = serde_json::to_vec_pretty(&subs).map_err(|e| Error::log(&record, e))?;
    atomic_write(&record, &json)?;
    drop(prepared);
    Ok(SubmitOutcome {
        script: path,
        text,
        indices,
        job_id: Some(job_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_states_parse() {
        assert_eq!(compress(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(compress(&[3]), "3");
        let states = parse_states(
            "41_0|COMPLETED\n41_3|RUNNING\n42_5|PENDING\n9_1|RUNNING\n41|RUNNING\n",
            &["41".into(), "42".into()],
        );
        assert_eq!(states.len(), 3);
        assert_eq!(states[&3], "RUNNING");
        assert!(is_active(&states[&5]) && !is_active(&states[&0]));
    }
}
