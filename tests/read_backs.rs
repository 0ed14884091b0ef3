//! Read-backs of step values: every step by default, once per epoch when deferred (what a GPU
//! device gets, where each read-back is a synchronisation), with the same logged values and
//! the same non-finite detection at the step where it happened. Counted on flex.

use burn::prelude::Device;
use weightlab::config::{expand, parse};
use weightlab::data::synth::{generate, test_subjects, SynthConfig};
use weightlab::data::{FaceSet, Split};
use weightlab::error::Error;
use weightlab::train::{train_job, Parts, TrainControl, TrainOutput};

fn job(strategy: &str) -> weightlab::config::Job {
    let yaml = format!(
        "name: rb
datasets:
  - name: synth
    synthetic: {{ identities: 8, test_identities: 3, expressions: 4, images_per_cell: 2, image_size: 16 }}
model: {{ embedding_dim: 8, z_dim: 16, expression_dim: 8 }}
train: {{ epochs: 3, batch_size: 8 }}
strategies:
  - {strategy}
"
    );
    expand(&parse(&yaml, "rb.yaml").unwrap()).unwrap().remove(0)
}

fn data() -> (FaceSet, Split) {
    let cfg = SynthConfig {
        identities: 8,
        test_identities: 3,
        expressions: 4,
        images_per_cell: 2,
        image_size: 16,
        ..SynthConfig::default()
    };
    let set = generate("synth", &cfg);
    let split = Split::by_test_subjects(&set, &test_subjects(&cfg));
    (set, split)
}

fn train(
    job: &weightlab::config::Job,
    data: &(FaceSet, Split),
    deferred: bool,
) -> weightlab::error::Result<TrainOutput> {
    let control = TrainControl {
        deferred_read_back: deferred,
        ..TrainControl::default()
    };
    train_job(
        job,
        &Parts::new(),
        data,
        &Device::flex(),
        control,
        &mut |_| {},
    )
}

#[test]
fn deferred_read_backs_log_the_same_values_once_per_epoch() {
    let data = data();
    let steps_per_epoch = data.1.train.len().div_ceil(8);
    for strategy in ["l3: {}", "rlw: {}", "dwa: {}"] {
        let job = job(strategy);
        let each = train(&job, &data, false).unwrap();
        let deferred = train(&job, &data, true).unwrap();
        assert_eq!(each.read_backs, 3 * steps_per_epoch, "{strategy}");
        assert_eq!(
            deferred.read_backs, 3,
            "{strategy}: one read-back per epoch"
        );
        assert_eq!(each.steps, deferred.steps, "{strategy}");
        for (a, b) in each.epochs.iter().zip(&deferred.epochs) {
            assert_eq!(
                (&a.w, &a.loss, a.loss_l3, &a.test),
                (&b.w, &b.loss, b.loss_l3, &b.test),
                "{strategy}"
            );
        }
    }
    // Uncertainty updates its own parameters from every step's losses: it reads each step.
    let job = job("uncertainty: {}");
    assert_eq!(
        train(&job, &data, true).unwrap().read_backs,
        3 * steps_per_epoch
    );
}

#[test]
fn a_deferred_non_finite_value_is_reported_at_its_step() {
    let mut data = data();
    // One poisoned training image: its batch's losses are NaN, the steps before are not.
    let victim = data.1.train[5];
    data.0.pixels[victim * 16 * 16] = f32::NAN;
    let job = job("l3: {}");
    let at = |e: Error| match e {
        Error::NonFinite { epoch, step, .. } => (epoch, step),
        other => panic!("expected a non-finite error, got {other}"),
    };
    let each = at(train(&job, &data, false).unwrap_err());
    let deferred = at(train(&job, &data, true).unwrap_err());
    assert_eq!(each, deferred);
    assert_eq!(each.0, 1);
}
