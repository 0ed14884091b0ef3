//! Gradient routing of each strategy, on the real model: who receives gradient from which term.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::Gradients;
use weightlab::data::synth::{generate, test_subjects, SynthConfig};
use weightlab::data::{FaceSet, Split};
use weightlab::model::NetShape;
use weightlab::model::{
    seeded_init, ModelConfig, MultiTaskNet, Preset, WeightUnit, WeightUnitConfig,
};
use weightlab::strategy::Flow;
use weightlab::strategy::{
    weighted_sum, L3Config, SharedGradients, StaticWeights, StepContext, Strategy, TaskLosses, Yin,
    YinConfig, L3,
};
use weightlab::task::Tasks;
use weightlab::train::losses::{cross_entropy, one_hot};
use weightlab::train::{batch_images, shared_gradients, CenterLoss, FaceTasks};

/// Every float parameter's gradient (empty when it has none), in visiting order.
struct GradCollector<'a> {
    grads: &'a Gradients,
    out: Vec<Option<Vec<f32>>>,
}

impl ModuleVisitor for GradCollector<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let g = param
            .val()
            .grad(self.grads)
            .map(|g| g.into_data().try_to_vec::<f32>().unwrap());
        self.out.push(g);
    }
}

fn grads_of<M: Module>(module: &M, grads: &Gradients) -> Vec<Option<Vec<f32>>> {
    let mut c = GradCollector {
        grads,
        out: Vec::new(),
    };
    module.visit(&mut c);
    c.out
}

fn no_probe() -> SharedGradients {
    unreachable!("these strategies do not measure shared-layer gradients")
}

struct Fixture {
    set: FaceSet,
    split: Split,
    net: MultiTaskNet,
    unit: WeightUnit,
    device: Device,
}

fn fixture() -> Fixture {
    let device = Device::flex().autodiff();
    let cfg = SynthConfig {
        identities: 6,
        test_identities: 2,
        expressions: 4,
        images_per_cell: 1,
        image_size: 16,
        ..SynthConfig::default()
    };
    let set = generate("g", &cfg);
    let split = Split::by_test_subjects(&set, &test_subjects(&cfg));
    let model = ModelConfig {
        preset: Preset::Small,
        trunk: None,
        embedding_dim: 8,
        z_dim: 12,
        expression_dim: 6,
    };
    let shape = NetShape {
        image_size: 16,
        identities: split.n_train_subjects,
        expressions: 4,
        pose: None,
    };
    let net = model.init(shape, 3, &device);
    // A random (not zero) unit, so per-sample weights differ and ∂w/∂Z ≠ 0.
    let unit = seeded_init(WeightUnitConfig::default().init(12, 2, &device), 9);
    Fixture {
        set,
        split,
        net,
        unit,
        device,
    }
}

/// Forward on the first 8 training images; returns Z and the two task losses.
fn forward(f: &Fixture) -> (Tensor<2>, TaskLosses) {
    let idx: Vec<usize> = f.split.train[..8].to_vec();
    let ids: Vec<u32> = f.split.train_labels[..8].to_vec();
    let ex: Vec<u32> = idx.iter().map(|&i| f.set.expressions[i]).collect();
    let out = f.net.forward(batch_images(&f.set, &idx, &f.device));
    let fv = cross_entropy(
        out.identity_logits,
        one_hot(&ids, f.split.n_train_subjects, &f.device),
    );
    let exl = cross_entropy(out.expression_logits, one_hot(&ex, 4, &f.device));
    (out.z, TaskLosses(vec![fv, exl]))
}

fn max_diff(a: &[Option<Vec<f32>>], b: &[Option<Vec<f32>>]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => x
                .iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max),
            (None, None) => 0.0,
            _ => f32::INFINITY,
        })
        .fold(0.0, f32::max)
}

#[test]
fn l3_unit_gradient_matches_the_analytic_one() {
    let f = fixture();
    let (z, losses) = forward(&f);
    let eps = 0.01;
    let l = [
        losses.0[0].clone().into_scalar::<f32>() as f64,
        losses.0[1].clone().into_scalar::<f32>() as f64,
    ];
    let p = f
        .unit
        .forward(z.clone().detach())
        .per_sample
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let zv = z.clone().into_data().try_to_vec::<f32>().unwrap();
    let mut l3 = L3::new(L3Config {
        lr: 0.1,
        epsilon: eps,
        ..L3Config::default()
    });
    let obj = l3.objective(StepContext {
        z,
        unit: &f.unit,
        losses,
        tasks: &Tasks::default(),
        shared_gradients: &no_probe,
    });
    let grads = obj.loss.backward();
    let unit_grads = grads_of(&f.unit, &grads);
    let (w_grad, b_grad) = (
        unit_grads[0].clone().unwrap(),
        unit_grads[1].clone().unwrap(),
    );

    let c = [1.0 / (l[0] + eps), 1.0 / (l[1] + eps)];
    let (batch, zdim) = (8, 12);
    let mut bias = [0f64; 2];
    let mut weight = vec![0f64; zdim * 2];
    for s in 0..batch {
        let ps = [p[2 * s] as f64, p[2 * s + 1] as f64];
        let mix = ps[0] * c[0] + ps[1] * c[1];
        for j in 0..2 {
            let term = ps[j] * (c[j] - mix) / batch as f64;
            bias[j] += term;
            for k in 0..zdim {
                weight[k * 2 + j] += term * zv[s * zdim + k] as f64;
            }
        }
    }
    for j in 0..2 {
        assert!(
            (b_grad[j] as f64 - bias[j]).abs() < 1e-5,
            "bias {j}: {} vs {}",
            b_grad[j],
            bias[j]
        );
    }
    for (k, (g, a)) in w_grad.iter().zip(&weight).enumerate() {
        assert!((*g as f64 - a).abs() < 1e-5, "weight {k}: {g} vs {a}");
    }
}

#[test]
fn l3_term_never_reaches_theta() {
    let f = fixture();
    let mut l3 = L3::new(L3Config::default());
    let (z, losses) = forward(&f);
    let with_l3 = grads_of(
        &f.net,
        &l3.objective(StepContext {
            z,
            unit: &f.unit,
            losses,
            tasks: &Tasks::default(),
            shared_gradients: &no_probe,
        })
        .loss
        .backward(),
    );
    let (z, losses) = forward(&f);
    let without = grads_of(
        &f.net,
        &l3.objective(StepContext {
            z,
            unit: &f.unit,
            losses,
            tasks: &Tasks::default(),
            shared_gradients: &no_probe,
        })
        .total
        .backward(),
    );
    assert!(with_l3.iter().all(Option::is_some));
    assert!(
        max_diff(&with_l3, &without) == 0.0,
        "L3 changed Θ's gradient"
    );
    // And the total loss never reaches Ψ: its unit gradient is empty.
    let (z, losses) = forward(&f);
    let total_only = l3
        .objective(StepContext {
            z,
            unit: &f.unit,
            losses,
            tasks: &Tasks::default(),
            shared_gradients: &no_probe,
        })
        .total
        .backward();
    assert!(grads_of(&f.unit, &total_only).iter().all(Option::is_none));
}

#[test]
fn static_never_touches_the_unit() {
    let f = fixture();
    let mut s = StaticWeights::new(vec![0.3, 0.7]);
    assert!(s.unit_lr().is_none());
    let (z, losses) = forward(&f);
    let obj = s.objective(StepContext {
        z,
        unit: &f.unit,
        losses,
        tasks: &Tasks::default(),
        shared_gradients: &no_probe,
    });
    let w = obj.weights.into_data().try_to_vec::<f32>().unwrap();
    assert!((w[0] - 0.3).abs() < 1e-7 && (w[1] - 0.7).abs() < 1e-7);
    let grads = obj.loss.backward();
    assert!(grads_of(&f.unit, &grads).iter().all(Option::is_none));
    assert!(grads_of(&f.net, &grads).iter().all(Option::is_some));
}

#[test]
fn yin_trunk_receives_gradient_through_w() {
    let f = fixture();
    let mut yin = Yin::new(YinConfig::default());
    let (z, losses) = forward(&f);
    let through_w = grads_of(
        &f.net,
        &yin.objective(StepContext {
            z,
            unit: &f.unit,
            losses,
            tasks: &Tasks::default(),
            shared_gradients: &no_probe,
        })
        .loss
        .backward(),
    );
    let (z, losses) = forward(&f);
    let obj = yin.objective(StepContext {
        z,
        unit: &f.unit,
        losses: losses.clone(),
        tasks: &Tasks::default(),
        shared_gradients: &no_probe,
    });
    let detached = grads_of(
        &f.net,
        &weighted_sum(obj.weights.detach(), &losses).backward(),
    );
    assert!(
        max_diff(&through_w, &detached) > 1e-7,
        "yin's w did not reach the trunk"
    );
    // The unit is trained by the total loss itself.
    let (z, losses) = forward(&f);
    let g = yin
        .objective(StepContext {
            z,
            unit: &f.unit,
            losses,
            tasks: &Tasks::default(),
            shared_gradients: &no_probe,
        })
        .loss
        .backward();
    assert!(grads_of(&f.unit, &g).iter().all(Option::is_some));
}

#[test]
fn l3_official_flow_reaches_the_trunk_through_w_but_never_psi() {
    let f = fixture();
    let objective = |flow: Flow| {
        let mut l3 = L3::new(L3Config {
            flow,
            ..L3Config::default()
        });
        let (z, losses) = forward(&f);
        l3.objective(StepContext {
            z,
            unit: &f.unit,
            losses,
            tasks: &Tasks::default(),
            shared_gradients: &no_probe,
        })
    };
    let (paper, official) = (objective(Flow::Paper), objective(Flow::Official));
    let w = |o: &weightlab::strategy::Objective| {
        o.weights.clone().into_data().try_to_vec::<f32>().unwrap()
    };
    assert_eq!(
        w(&paper),
        w(&official),
        "the flow changed the weights' values"
    );
    let (gp, go) = (paper.loss.backward(), official.loss.backward());
    assert!(
        max_diff(&grads_of(&f.net, &gp), &grads_of(&f.net, &go)) > 1e-7,
        "official flow: Θ got no gradient through w"
    );
    // Ψ is trained by L3 alone in both flows.
    assert_eq!(
        max_diff(&grads_of(&f.unit, &gp), &grads_of(&f.unit, &go)),
        0.0,
        "official flow: the total loss reached Ψ"
    );
}

/// The norm of `loss`'s gradient on the last shared layer's weights, by a full backward.
fn full_norm(f: &Fixture, loss: Tensor<1>) -> f64 {
    let g = f
        .net
        .last_shared_weight()
        .grad(&loss.backward())
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    g.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn shared_gradient_probe_matches_full_backward_and_leaves_the_step_intact() {
    let f = fixture();
    let idx: Vec<usize> = f.split.train[..8].to_vec();
    let ids: Vec<u32> = f.split.train_labels[..8].to_vec();
    let ex: Vec<u32> = idx.iter().map(|&i| f.set.expressions[i]).collect();
    let face = FaceTasks::new(&Tasks::default(), &f.set, &f.split).unwrap();
    let labels = face.labels(&f.set, &f.split, &(0..8).collect::<Vec<_>>(), &f.device);
    // The labels a batch carries are those of its images.
    let want_ids = one_hot(&ids, f.split.n_train_subjects, &f.device);
    let want_ex = one_hot(&ex, 4, &f.device);
    assert_eq!(labels.id_1h.clone().into_data(), want_ids.into_data());
    assert_eq!(labels.ex_1h.clone().into_data(), want_ex.into_data());
    let centers = CenterLoss::new(f.split.n_train_subjects, 8, Default::default(), &f.device);
    let images = || batch_images(&f.set, &idx, &f.device);
    let losses = || face.losses(&f.net.forward(images()), &labels, &centers);
    let expected = [
        full_norm(&f, losses().0[0].clone()),
        full_norm(&f, losses().0[1].clone()),
    ];

    // The probe runs between the step's forward and its backward, as in the training loop.
    let out = f.net.forward(images());
    let step_losses = face.losses(&out, &labels, &centers);
    let probe = shared_gradients(&f.net, &out.features, &labels, &centers, &face);
    for i in 0..2 {
        assert!(
            (probe.norms[i] - expected[i]).abs() <= 1e-5 * expected[i].max(1.0),
            "task {i}: probe {:?} vs full backward {expected:?}",
            probe.norms
        );
        assert!(probe.norms[i] > 0.0);
    }
    let value = step_losses.0[0].clone().into_scalar::<f32>() as f64;
    assert!((probe.losses[0] - value).abs() < 1e-6);
    let after_probe = grads_of(
        &f.net,
        &weighted_sum(Tensor::from_floats([0.3, 0.7], &f.device), &step_losses).backward(),
    );
    let plain = grads_of(
        &f.net,
        &weighted_sum(Tensor::from_floats([0.3, 0.7], &f.device), &losses()).backward(),
    );
    assert!(after_probe.iter().all(Option::is_some));
    assert_eq!(
        max_diff(&after_probe, &plain),
        0.0,
        "the probe changed the step's gradients"
    );
}
