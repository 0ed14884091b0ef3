//! `trainer:` in the experiment: a training program of your own (PyTorch, JAX, anything) that
//! weightlab runs as a process for every job, instead of its own face model. The contract
//! between them is docs/trainer-contract.md: weightlab writes the job's spec as JSON, starts
//! the command, and reads the rows the trainer appends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a job's trainer process is started and watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerConfig {
    /// The program and its arguments, never a shell string. `{seed}`, `{epochs}`,
    /// `{strategy}`, `{run_id}`, `{job_file}`, `{job_dir}`, `{rows}` and `{state_dir}` in an
    /// argument are replaced by the job's values (see [`TrainerConfig::PARAMS`]).
    pub command: Vec<String>,
    /// Environment variables set for the trainer, beside `WEIGHTLAB_JOB` (the spec's path).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Seconds a job may run before it is stopped and failed as hung.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// Seconds between SIGTERM and SIGKILL when a job is stopped.
    #[serde(default = "default_grace")]
    pub stop_grace: f64,
    /// Settings handed to the trainer in the spec (`params`), as written here.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub params: serde_json::Value,
}

fn default_timeout() -> f64 {
    3600.0
}

fn default_grace() -> f64 {
    10.0
}

impl TrainerConfig {
    /// The placeholders an argument may hold.
    pub const PARAMS: [&'static str; 8] = [
        "seed",
        "epochs",
        "strategy",
        "run_id",
        "job_file",
        "job_dir",
        "rows",
        "state_dir",
    ];

    /// The trainer as far as it decides a job's results: its arguments and params. The
    /// program (an interpreter's path, which differs from machine to machine), the environment,
    /// the timeout and the grace period are left out of the config hash, so a study resumes on
    /// another machine.
    pub fn canonical(&self) -> Self {
        Self {
            command: self.command.iter().skip(1).cloned().collect(),
            env: BTreeMap::new(),
            timeout: default_timeout(),
            stop_grace: default_grace(),
            params: self.params.clone(),
        }
    }

    /// The first `{name}` in the arguments that is not a placeholder, if any.
    pub fn unknown_placeholder(&self) -> Option<String> {
        for arg in &self.command {
            let mut rest = arg.as_str();
            while let Some(open) = rest.find('{') {
                let after = &rest[open + 1..];
                let Some(close) = after.find('}') else { break };
                let name = &after[..close];
                if !Self::PARAMS.contains(&name) {
                    return Some(name.to_string());
                }
                rest = &after[close + 1..];
            }
        }
        None
    }

    /// The arguments with every placeholder replaced by its value in `values`.
    pub fn argv(&self, values: &BTreeMap<&str, String>) -> Vec<String> {
        self.command
            .iter()
            .map(|arg| {
                values
                    .iter()
                    .fold(arg.clone(), |a, (k, v)| a.replace(&format!("{{{k}}}"), v))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_and_unknown_ones_named() {
        let t: TrainerConfig = serde_yaml::from_str(
            "{ command: [python, train.py, '--spec={job_file}', '{seed}'], params: { lr: 0.1 } }",
        )
        .unwrap();
        let values = BTreeMap::from([
            ("job_file", "/j/job.json".to_string()),
            ("seed", "3".into()),
        ]);
        assert_eq!(
            t.argv(&values),
            ["python", "train.py", "--spec=/j/job.json", "3"]
        );
        assert_eq!(t.unknown_placeholder(), None);
        let bad: TrainerConfig = serde_yaml::from_str("{ command: [x, '{sed}'] }").unwrap();
        assert_eq!(bad.unknown_placeholder().as_deref(), Some("sed"));
        // The program and the watch settings do not make another job.
        let other = TrainerConfig {
            command: vec![
                "/opt/venv/bin/python".into(),
                "train.py".into(),
                "--spec={job_file}".into(),
                "{seed}".into(),
            ],
            timeout: 5.0,
            ..t.clone()
        };
        assert_eq!(t.canonical(), other.canonical());
    }
}
