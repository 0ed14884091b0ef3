//! The two files of a process trainer's job (docs/trainer-contract.md): `job.json`, the spec
//! weightlab writes for it ([`JobSpec`]), and `rows.jsonl`, the rows it appends, one JSON object
//! a line ([`RowReader`], which validates every row as it arrives).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::config::Job;
use crate::error::{Error, Result};
use crate::files::atomic_write;
use crate::metrics::{EpochMetrics, StepMetrics};
use crate::strategy::StrategyPoint;
use crate::task::Tasks;

/// The contract's version, in every spec.
pub const CONTRACT: u32 = 1;

/// One task as the spec describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecTask {
    /// Its name, the key of its values in every row.
    pub name: String,
    /// verification | classification | regression | other.
    pub kind: String,
    /// The metric the trainer reports for it (`test`, `val`).
    pub metric: String,
    /// higher | lower.
    pub direction: String,
}

/// `job.json`: what a trainer needs to run one job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSpec {
    /// [`CONTRACT`].
    pub contract: u32,
    /// The job's stable id.
    pub run_id: String,
    /// Its seed.
    pub seed: u64,
    /// Epochs to train.
    pub epochs: usize,
    /// The tasks, in the order the weights are reported in.
    pub tasks: Vec<SpecTask>,
    /// `{kind: static, name: static, weights: {task: w}}` or `{kind: external, name,
    /// settings}`.
    pub strategy: Value,
    /// `{name, settings}` of the dataset entry.
    pub dataset: Value,
    /// The experiment's `trainer.params`.
    pub params: Value,
    /// Where to append the rows (absolute).
    pub rows: PathBuf,
    /// A folder the trainer may keep its own checkpoint in (absolute); it survives a stop.
    pub state_dir: PathBuf,
    /// Write a step row every this many steps (0: none): the experiment's `log.every_steps`.
    pub step_rows: usize,
}

impl JobSpec {
    /// The spec of `job`, whose rows go to `rows` and state to `state_dir`.
    pub fn of(job: &Job, rows: PathBuf, state_dir: PathBuf) -> Self {
        let strategy = match &job.strategy {
            StrategyPoint::Static(p) => {
                let weights: serde_json::Map<String, Value> = job
                    .tasks
                    .iter()
                    .zip(p.weights())
                    .map(|(t, w)| (t.name.clone(), Value::from(w)))
                    .collect();
                serde_json::json!({ "kind": "static", "name": "static", "weights": weights })
            }
            other => serde_json::json!({
                "kind": "external",
                "name": other.name(),
                "settings": other.external().map_or(Value::Null, |e| e.settings.clone()),
            }),
        };
        let dataset_settings = match &job.dataset.source {
            crate::data::DatasetSource::External(v) => v.clone(),
            _ => Value::Null,
        };
        Self {
            contract: CONTRACT,
            run_id: job.run_id.clone(),
            seed: job.seed,
            epochs: job.train.epochs,
            tasks: job
                .tasks
                .iter()
                .map(|t| SpecTask {
                    name: t.name.clone(),
                    kind: t.kind.as_str().to_string(),
                    metric: t.metric.name.clone(),
                    direction: t.metric.direction().as_str().to_string(),
                })
                .collect(),
            strategy,
            dataset: serde_json::json!({ "name": job.dataset.name, "settings": dataset_settings }),
            params: job
                .trainer
                .as_ref()
                .map_or(Value::Null, |t| t.params.clone()),
            rows,
            state_dir,
            step_rows: job.log.every_steps,
        }
    }

    /// Write the spec to `path`, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::log(path, e))?;
        atomic_write(path, &json)
    }
}

/// A row that breaks the contract: where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// 1-based line of `rows.jsonl`.
    pub line: usize,
    /// The field, e.g. `test.bogus` or `loss.fv`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rows.jsonl:{}: {}: {}",
            self.line, self.field, self.message
        )
    }
}

/// A row the reader accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// An epoch's means and its evaluation.
    Epoch(EpochMetrics),
    /// One step.
    Step(StepMetrics),
}

/// Reads `rows.jsonl` as the trainer appends it: every complete line is checked against the
/// tasks (known names, every task present, finite numbers or explicit nulls where allowed,
/// epochs and steps in order); a row sent again for an epoch or step already logged is dropped
/// when identical and an error when not. A last line without its newline is not read yet.
#[derive(Debug)]
pub struct RowReader {
    path: PathBuf,
    tasks: Tasks,
    epochs: usize,
    offset: u64,
    line: usize,
    /// The rows logged so far, by epoch and by step, for the comparison of rows sent again.
    seen_epochs: Vec<Value>,
    seen_steps: BTreeMap<usize, Value>,
    last_step: usize,
}

impl RowReader {
    /// A reader of the rows at `path` of a job of `tasks` that trains `epochs` epochs.
    pub fn new(path: PathBuf, tasks: Tasks, epochs: usize) -> Self {
        Self {
            path,
            tasks,
            epochs,
            offset: 0,
            line: 0,
            seen_epochs: Vec::new(),
            seen_steps: BTreeMap::new(),
            last_step: 0,
        }
    }

    /// Epochs logged so far.
    pub fn epochs_logged(&self) -> usize {
        self.seen_epochs.len()
    }

    /// Whether every epoch is logged.
    pub fn complete(&self) -> bool {
        self.seen_epochs.len() == self.epochs
    }

    /// The rows appended since the last call (none when the file does not exist yet).
    pub fn poll(&mut self) -> std::result::Result<Vec<Row>, RowError> {
        let io = |e: std::io::Error| RowError {
            line: self.line,
            field: "(file)".into(),
            message: format!("cannot read: {e}"),
        };
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(e)),
        };
        file.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let Some(end) = bytes.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        self.offset += end as u64 + 1;
        let mut rows = Vec::new();
        for raw in bytes[..end].split(|b| *b == b'\n') {
            self.line += 1;
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Some(row) = self.accept(raw)? {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// Whether the file holds a last line without its newline (a trainer that exits there
    /// broke off a row).
    pub fn torn(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| m.len() > self.offset)
    }

    fn error(&self, field: &str, message: impl Into<String>) -> RowError {
        RowError {
            line: self.line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// One line: `None` for a row sent again, identical.
    fn accept(&mut self, raw: &[u8]) -> std::result::Result<Option<Row>, RowError> {
        let value: Value = serde_json::from_slice(raw)
            .map_err(|e| self.error("(line)", format!("not a JSON object: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| self.error("(line)", "not a JSON object"))?;
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let epoch = self.count(obj, "epoch")?;
        match kind {
            "epoch" => {
                if epoch <= self.seen_epochs.len() {
                    return self.again(
                        &self.seen_epochs[epoch - 1].clone(),
                        &value,
                        "epoch",
                        epoch,
                    );
                }
                if epoch != self.seen_epochs.len() + 1 {
                    return Err(self.error(
                        "epoch",
                        format!(
                            "epoch {epoch} after epoch {}: epochs come in order",
                            self.seen_epochs.len()
                        ),
                    ));
                }
                if epoch > self.epochs {
                    return Err(self.error(
                        "epoch",
                        format!("epoch {epoch} of a job of {} epochs", self.epochs),
                    ));
                }
                let m = self.epoch_metrics(obj, epoch)?;
                self.seen_epochs.push(value);
                Ok(Some(Row::Epoch(m)))
            }
            "step" => {
                let step = self.count(obj, "step")?;
                if let Some(before) = self.seen_steps.get(&step).cloned() {
                    return self.again(&before, &value, "step", step);
                }
                if step <= self.last_step {
                    return Err(self.error(
                        "step",
                        format!(
                            "step {step} after step {}: steps come in order",
                            self.last_step
                        ),
                    ));
                }
                let (raw_w, loss) = self.weights_and_losses(obj, true)?;
                self.seen_steps.insert(step, value);
                self.last_step = step;
                Ok(Some(Row::Step(StepMetrics::new(
                    epoch, step, raw_w, loss, 0.0, None,
                ))))
            }
            other => Err(self.error(
                "kind",
                format!("`{other}` is not a row kind; use \"epoch\" or \"step\""),
            )),
        }
    }

    /// A row sent again: dropped when it is the row already logged, an error otherwise.
    fn again(
        &self,
        before: &Value,
        now: &Value,
        what: &str,
        n: usize,
    ) -> std::result::Result<Option<Row>, RowError> {
        if before == now {
            Ok(None)
        } else {
            Err(self.error(
                what,
                format!("{what} {n} was logged before with other values (a resumed trainer must send the same rows again, or none)"),
            ))
        }
    }

    /// A whole number ≥ 1 in `field`.
    fn count(
        &self,
        obj: &serde_json::Map<String, Value>,
        field: &str,
    ) -> std::result::Result<usize, RowError> {
        obj.get(field)
            .and_then(Value::as_u64)
            .filter(|n| *n >= 1)
            .map(|n| n as usize)
            .ok_or_else(|| self.error(field, "must be a whole number ≥ 1"))
    }

    /// The per-task map `field`: every task once, no other name; each value a finite number,
    /// or, where `nulls` allows, null (read as NaN).
    fn per_task(
        &self,
        obj: &serde_json::Map<String, Value>,
        field: &str,
        nulls: bool,
    ) -> std::result::Result<Vec<f64>, RowError> {
        let map = obj
            .get(field)
            .and_then(Value::as_object)
            .ok_or_else(|| self.error(field, "must be a map of task name to value"))?;
        if let Some(unknown) = map.keys().find(|k| self.tasks.position(k).is_none()) {
            return Err(self.error(
                &format!("{field}.{unknown}"),
                format!(
                    "unknown task `{unknown}` (the tasks are {})",
                    self.tasks.names().join(", ")
                ),
            ));
        }
        self.tasks
            .iter()
            .map(|t| {
                let at = format!("{field}.{}", t.name);
                match map.get(&t.name) {
                    None => Err(self.error(&at, "missing")),
                    Some(Value::Null) if nulls => Ok(f64::NAN),
                    Some(v) => v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                        self.error(&at, format!("must be a finite number (got {v})"))
                    }),
                }
            })
            .collect()
    }

    /// The raw weights and losses of a row, with its `w` checked: a step's is its `raw_w`
    /// normalised to sum 1; an epoch's is the mean of its steps' (`step`: false), which sums
    /// to 1 but is not its mean `raw_w` normalised.
    fn weights_and_losses(
        &self,
        obj: &serde_json::Map<String, Value>,
        step: bool,
    ) -> std::result::Result<(Vec<f64>, Vec<f64>), RowError> {
        let raw_w = self.per_task(obj, "raw_w", false)?;
        let w = self.per_task(obj, "w", false)?;
        let loss = self.per_task(obj, "loss", false)?;
        let sum: f64 = raw_w.iter().sum();
        if step {
            for (k, t) in self.tasks.iter().enumerate() {
                if sum > 0.0 && (w[k] - raw_w[k] / sum).abs() > 1e-6 {
                    return Err(self.error(
                        &format!("w.{}", t.name),
                        format!(
                            "{} is not raw_w normalised to sum 1 ({})",
                            w[k],
                            raw_w[k] / sum
                        ),
                    ));
                }
            }
        }
        let w_sum: f64 = w.iter().sum();
        if (w_sum - 1.0).abs() > 1e-6 {
            return Err(self.error("w", format!("the weights must sum to 1 (got {w_sum})")));
        }
        Ok((raw_w, loss))
    }

    fn epoch_metrics(
        &self,
        obj: &serde_json::Map<String, Value>,
        epoch: usize,
    ) -> std::result::Result<EpochMetrics, RowError> {
        let (raw_w, loss) = self.weights_and_losses(obj, false)?;
        let test = self.per_task(obj, "test", true)?;
        let val = match obj.get("val") {
            None | Some(Value::Null) => None,
            Some(_) => Some(self.per_task(obj, "val", true)?),
        };
        let number = |field: &str| -> std::result::Result<Option<f64>, RowError> {
            match obj.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| self.error(field, format!("must be a finite number (got {v})"))),
            }
        };
        let w = self.per_task(obj, "w", false)?;
        let total = number("loss_total")?
            .unwrap_or_else(|| raw_w.iter().zip(&loss).map(|(w, l)| w * l).sum());
        Ok(EpochMetrics {
            epoch,
            raw_w,
            w,
            loss,
            loss_total: total,
            loss_l3: None,
            test,
            elapsed_s: number("elapsed_s")?.unwrap_or(f64::NAN),
            val,
        })
    }
}

/// Cut `path` after its last newline: a row a killed trainer broke off must not run into the
/// first row of the next attempt.
pub fn cut_torn_line(path: &Path) -> Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path, "cannot read", e)),
    };
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if keep == bytes.len() {
        return Ok(());
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, "cannot open", e))?;
    f.set_len(keep as u64)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, "cannot cut", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks() -> Tasks {
        serde_yaml::from_str(
            "[{name: a, kind: classification}, {name: b, kind: regression, metric: mse}]",
        )
        .unwrap()
    }

    fn epoch(e: usize, a: f64) -> String {
        format!(
            r#"{{"kind":"epoch","epoch":{e},"loss":{{"a":{a},"b":1}},"w":{{"a":0.5,"b":0.5}},"raw_w":{{"a":1,"b":1}},"test":{{"a":0.9,"b":null}},"val":null}}"#
        )
    }

    type Read = (
        tempfile::TempDir,
        RowReader,
        std::result::Result<Vec<Row>, RowError>,
    );

    fn step_row(step: usize, w: &str) -> String {
        format!(
            r#"{{"kind":"step","epoch":1,"step":{step},"loss":{{"a":1,"b":1}},"w":{{{w}}},"raw_w":{{"a":1,"b":1}}}}"#
        )
    }

    fn read(text: &str) -> Read {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rows.jsonl");
        std::fs::write(&p, text).unwrap();
        let mut r = RowReader::new(p, tasks(), 2);
        let rows = r.poll();
        (dir, r, rows)
    }

    #[test]
    fn rows_are_read_checked_and_resent_ones_dropped() {
        let text = format!("{}\n{}\n{}\n", epoch(1, 0.5), epoch(1, 0.5), epoch(2, 0.4));
        let (_dir, r, rows) = read(&text);
        let rows = rows.unwrap();
        assert_eq!(rows.len(), 2);
        assert!(r.complete());
        let Row::Epoch(m) = &rows[0] else { panic!() };
        assert_eq!((m.loss[0], m.w[1], m.loss_total), (0.5, 0.5, 1.5));
        assert!(m.test[1].is_nan() && m.val.is_none());
        // A last line without its newline waits.
        let (_dir, r, rows) = read(&format!("{}\n{{\"kind\":", epoch(1, 0.5)));
        assert_eq!(rows.unwrap().len(), 1);
        assert!(r.torn());
    }

    #[test]
    fn each_broken_row_is_named_by_line_and_field() {
        let cases = [
            (
                format!("{}\nnot json\n", epoch(1, 0.5)),
                "rows.jsonl:2: (line): not a JSON object",
            ),
            (
                epoch(1, 0.5).replacen("\"b\":1", "\"b\":1,\"c\":2", 1) + "\n",
                "rows.jsonl:1: loss.c: unknown task `c`",
            ),
            (
                epoch(1, 0.5).replace("0.5,\"b\":1}", "NaN,\"b\":1}") + "\n",
                "rows.jsonl:1: (line)",
            ),
            (
                epoch(1, 0.5).replace("\"loss\":{\"a\":0.5,", "\"loss\":{\"a\":null,") + "\n",
                "rows.jsonl:1: loss.a: must be a finite number",
            ),
            (
                format!("{}\n", epoch(2, 0.5)),
                "rows.jsonl:1: epoch: epoch 2 after epoch 0",
            ),
            (
                format!("{}\n{}\n", epoch(1, 0.5), epoch(1, 0.6)),
                "rows.jsonl:2: epoch: epoch 1 was logged before with other values",
            ),
            (
                format!("{}\n{}\n{}\n", epoch(1, 0.5), epoch(2, 0.5), epoch(3, 0.5)),
                "rows.jsonl:3: epoch: epoch 3 of a job of 2 epochs",
            ),
            (
                epoch(1, 0.5).replace("\"w\":{\"a\":0.5", "\"w\":{\"a\":0.7") + "\n",
                "rows.jsonl:1: w: the weights must sum to 1 (got 1.2)",
            ),
            (
                step_row(1, "\"a\":0.7,\"b\":0.3") + "\n",
                "rows.jsonl:1: w.a: 0.7 is not raw_w normalised to sum 1 (0.5)",
            ),
            (
                epoch(1, 0.5).replace("\"kind\":\"epoch\"", "\"kind\":\"batch\"") + "\n",
                "rows.jsonl:1: kind: `batch` is not a row kind",
            ),
        ];
        for (text, want) in cases {
            let err = read(&text).2.unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}\n  wanted {want}");
        }
    }

    #[test]
    fn a_torn_line_is_cut_before_the_next_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rows.jsonl");
        std::fs::write(&p, format!("{}\n{{\"kind\":\"ep", epoch(1, 0.5))).unwrap();
        cut_torn_line(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("{}\n", epoch(1, 0.5))
        );
        cut_torn_line(&dir.path().join("none")).unwrap();
    }
}
