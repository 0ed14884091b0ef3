//! Numerical faults: a non-finite loss stops the job as failed with "non-finite <what> at
//! epoch e, step s", recorded in its status.

use std::sync::Arc;

use burn::prelude::Device;
use weightlab::config::{expand, parse};
use weightlab::data::synth::{generate, test_subjects, SynthConfig};
use weightlab::data::Split;
use weightlab::error::Error;
use weightlab::runlog::{JobState, RunDir, Status};
use weightlab::sweep::{run_job, JobEnv, SweepEvent};
use weightlab::train::{train_job, Parts};

const YAML: &str = "name: nan
datasets:
  - name: synth
    synthetic: { identities: 6, test_identities: 2, expressions: 3, images_per_cell: 2, image_size: 16 }
model: { embedding_dim: 8, z_dim: 16, expression_dim: 8 }
train: { epochs: 2, batch_size: 8 }
strategies:
  - l3: {}
";

#[test]
fn a_nan_image_fails_the_job_with_where_it_happened() {
    let job = expand(&parse(YAML, "nan.yaml").unwrap()).unwrap().remove(0);
    let cfg = SynthConfig {
        identities: 6,
        test_identities: 2,
        expressions: 3,
        images_per_cell: 2,
        image_size: 16,
        ..SynthConfig::default()
    };
    let mut set = generate("synth", &cfg);
    let split = Split::by_test_subjects(&set, &test_subjects(&cfg));
    // Poison every training image: the first step's losses are NaN.
    for &i in &split.train {
        let n = 16 * 16;
        set.pixels[i * n] = f32::NAN;
    }
    let data = (set, split);
    let err = train_job(
        &job,
        &Parts::new(),
        &data,
        &Device::flex(),
        Default::default(),
        &mut |_| {},
    )
    .unwrap_err();
    match &err {
        Error::NonFinite { epoch, step, .. } => assert_eq!((*epoch, *step), (1, 1)),
        other => panic!("expected a non-finite error, got {other}"),
    }
    assert!(err.to_string().starts_with("non-finite "), "{err}");
    assert!(err.to_string().ends_with("at epoch 1, step 1"), "{err}");

    // Inside a sweep folder the job is marked failed with that reason.
    let tmp = tempfile::tempdir().unwrap();
    let dir = RunDir::new(tmp.path());
    let mut failed = None;
    run_job(
        &dir,
        &job,
        Some(&Arc::new(data)),
        JobEnv {
            device: &Device::flex(),
            stop: None,
            deferred_read_back: false,
            parts: &Parts::new(),
        },
        &mut |e| {
            if let SweepEvent::JobFailed { reason, .. } = e {
                failed = Some(reason);
            }
        },
    );
    let reason = failed.expect("a JobFailed event");
    assert!(reason.contains("non-finite"), "{reason}");
    let status = Status::read(&dir.job(&job.run_id).status())
        .unwrap()
        .unwrap();
    assert_eq!(status.state, JobState::Failed);
    assert_eq!(status.reason.as_deref(), Some(reason.as_str()));
    assert!(
        !dir.job(&job.run_id).epochs().exists(),
        "a failed job left a partial log"
    );
}
