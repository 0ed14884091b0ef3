//! `weightlab eval`: a done job's trained model on any dataset — its own test split, another
//! dataset of its experiment, or a dataset entry written on the command line (a model trained
//! on CK+ tested on Oulu-CASIA). Same protocol as training's evaluation: each task of the job
//! by its metric (FV accuracy on the balanced verification pairs of the test subjects, EX
//! top-1 accuracy, the tilt's error).

use std::path::Path;

use burn::prelude::Device;

use crate::config::BackendKind;
use crate::data::DatasetSpec;
use crate::error::{Error, Result};
use crate::model::{Head, MultiTaskNet, NetShape};
use crate::runlog::{JobDir, RunDir, RunRecord};
use crate::train::{evaluate, evaluation_pairs, load_model, FaceTasks, EVAL_BATCH};

/// What `eval` measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalReport {
    /// The job whose model was evaluated.
    pub run_id: String,
    /// The dataset it was evaluated on.
    pub dataset: String,
    /// Test images.
    pub test_images: usize,
    /// Verification pairs.
    pub pairs: usize,
    /// Each task's metric column (`fv_acc`) and value; `None` where the dataset lacks the
    /// task's labels (other expressions, no tilt).
    pub metrics: Vec<(String, Option<f64>)>,
}

/// The trained Θ of the done job in `jd` (whose `run.yaml` is `record`), its shape, and the
/// face model's view of its tasks.
pub fn trained_model(
    jd: &JobDir,
    record: &RunRecord,
    device: &Device,
) -> Result<(MultiTaskNet, NetShape, FaceTasks)> {
    let shape: NetShape = serde_json::from_slice(
        &std::fs::read(jd.model_shape())
            .map_err(|e| Error::io(&jd.model_shape(), "cannot read", e))?,
    )
    .map_err(|e| Error::log(&jd.model_shape(), e))?;
    let theta = std::fs::read(jd.model_theta())
        .map_err(|e| Error::io(&jd.model_theta(), "cannot read", e))?;
    let net = load_model(&record.job.model, shape, record.job.seed, &theta, device)?;
    let face = FaceTasks::of_trained(&record.job.tasks, &shape)?;
    Ok((net, shape, face))
}

/// The dataset named by `arg`: a dataset name of the job's experiment, or a YAML dataset entry
/// (`{ name: oulu, oulu_casia: { root: data/OuluCASIA } }`); the job's own without `arg`.
fn dataset_of(jd: &JobDir, own: &DatasetSpec, arg: Option<&str>) -> Result<DatasetSpec> {
    let Some(arg) = arg else {
        return Ok(own.clone());
    };
    let sweep = RunDir::new(jd.root().parent().unwrap_or(Path::new(".")));
    if let Ok(text) = std::fs::read_to_string(sweep.experiment()) {
        if let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(&text) {
            let entries = doc.get("datasets").and_then(|d| d.as_sequence()).cloned();
            for entry in entries.unwrap_or_default() {
                if entry.get("name").and_then(|n| n.as_str()) == Some(arg) {
                    return serde_yaml::from_value(entry).map_err(|e| {
                        Error::input(
                            "--dataset",
                            "datasets",
                            format!("`{arg}` in the experiment: {e}"),
                        )
                    });
                }
            }
        }
    }
    if !arg.contains(':') {
        return Err(Error::input(
            "--dataset",
            "dataset",
            format!(
                "no dataset `{arg}` in the job's experiment; name one of its datasets or write an entry such as '{{ name: x, manifest: {{ csv: data/x/manifest.csv }} }}'"
            ),
        ));
    }
    serde_yaml::from_str(arg)
        .map_err(|e| Error::input("--dataset", "dataset", format!("not a dataset entry: {e}")))
}

/// Evaluate the trained model of the done job in `job_dir` on `dataset` (see [`dataset_of`]).
pub fn rescore(job_dir: &Path, dataset: Option<&str>, device: BackendKind) -> Result<EvalReport> {
    let jd = JobDir::at(job_dir);
    let where_ = job_dir.display().to_string();
    let record = jd.read_record()?.ok_or_else(|| {
        Error::input(
            where_.clone(),
            "RUN",
            "not a job folder (no run.yaml); give RUN_DIR/<run_id>",
        )
    })?;
    if !jd.model_theta().is_file() {
        return Err(Error::input(
            where_,
            "RUN",
            "no trained model here: the job is not done, or ran before models were kept (rerun it)",
        ));
    }
    let device = device.device()?;
    let (net, shape, face) = trained_model(&jd, &record, &device)?;
    let spec = dataset_of(&jd, &record.job.dataset, dataset)?;
    if spec.image_size().is_some_and(|s| s != shape.image_size) {
        return Err(Error::input(
            "--dataset",
            "image_size",
            format!(
                "the model takes {0}-px images; set image_size: {0} in the dataset entry (got {1})",
                shape.image_size,
                spec.image_size().unwrap_or_default()
            ),
        ));
    }
    let (set, split) = spec.load()?;
    let pairs = evaluation_pairs(&set, &split);
    let scores = evaluate(&net, &set, &split.test, &pairs, EVAL_BATCH, &device, &face);
    let same_expressions = set.expression_names.len() == shape.expressions;
    let metrics = face
        .tasks
        .iter()
        .zip(&face.heads)
        .zip(scores)
        .map(|((task, head), value)| {
            let known = match head {
                Head::Expression => same_expressions,
                _ => value.is_finite(),
            };
            (task.metric_column(), known.then_some(value))
        })
        .collect();
    Ok(EvalReport {
        run_id: record.run_id,
        dataset: spec.name,
        test_images: split.test.len(),
        pairs: pairs.len(),
        metrics,
    })
}
