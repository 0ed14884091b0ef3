//! [`MultiTaskNet`]: the shared trunk with its task heads (Θ) — face verification,
//! expression and, in a three-task study, head tilt — and the dynamic-weight unit
//! ([`WeightUnit`], Ψ) that turns the shared features into task weights.
//!
//! This is the face model: it knows its three [`Head`]s, and a study's tasks pick them by kind
//! ([`Head::for_tasks`]).
//!
//! The trunk is any [`SharedTrunk`]: the built-in presets (`small`, `paper`, together as
//! [`Trunk`]) or one of your own, registered with [`crate::train::Parts::trunk`].
//!
//! Θ and Ψ are separate modules on purpose: each has its own optimiser and learning rate, and
//! a strategy decides which of them a loss term may reach.

pub mod conv;
mod flex_slices;
pub mod flops;
mod init;
mod paper;
pub mod pool;
mod small;
mod weight_unit;

use burn::module::ModuleDisplay;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use crate::task::{TaskError, TaskKind, Tasks};
pub use flops::{Costs, LayerCost};
pub use init::seeded_init;
pub use paper::PaperTrunk;
pub use small::SmallTrunk;
pub use weight_unit::{WeightUnit, WeightUnitConfig};

/// Which trunk to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Four 3×3 conv blocks and one dense layer; fast on a CPU.
    Small,
    /// A reduced Inception-ResNet-v1 in the spirit of the authors' network.
    Paper,
}

/// Model settings (`model:` in the experiment YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Trunk preset.
    #[serde(default = "default_preset")]
    pub preset: Preset,
    /// A trunk registered under this name by the program that runs the sweep (see
    /// [`crate::train::Parts::trunk`]), in place of the preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk: Option<String>,
    /// Size of the face-verification embedding X1.
    #[serde(default = "default_embedding")]
    pub embedding_dim: usize,
    /// Size of the shared features Z.
    #[serde(default = "default_z")]
    pub z_dim: usize,
    /// Size of the expression bottleneck X2 (and of the tilt head's bottleneck).
    #[serde(default = "default_bottleneck")]
    pub expression_dim: usize,
}

fn default_preset() -> Preset {
    Preset::Small
}
fn default_embedding() -> usize {
    128
}
fn default_z() -> usize {
    256
}
fn default_bottleneck() -> usize {
    64
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            preset: Preset::Small,
            trunk: None,
            embedding_dim: 128,
            z_dim: 256,
            expression_dim: 64,
        }
    }
}

/// The shared part of Θ: images → the input of the last shared layer ("features"), and that
/// layer, whose output Z feeds both task branches and the weight unit.
///
/// The built-in presets implement it (see [`Trunk`]); a trunk of your own does too, and is
/// registered under a name with [`crate::train::Parts::trunk`] so that `model: { trunk: NAME }`
/// in an experiment uses it. Its parameters are drawn again from the job's seed after it is
/// built ([`seeded_init`]), so two jobs of one seed start from the same Θ.
pub trait SharedTrunk: Module + ModuleDisplay + 'static {
    /// `[batch, 1, s, s]` images → `[batch, features]`, the input of the last shared layer.
    fn features(&self, images: Tensor<4>) -> Tensor<2>;

    /// The last shared layer, features → Z (ReLU applied by the net). GradNorm-style
    /// strategies measure the task gradients on its weights.
    fn last_shared(&self) -> &Linear;

    /// Add the cost of every layer before the last shared one, for one `image_size` image, to
    /// `costs` (for FLOP figures; the default adds nothing).
    fn costs(&self, _image_size: usize, _costs: &mut Costs) {}
}

/// The built-in trunks, one variant per [`Preset`].
#[derive(Module, Debug)]
pub enum Trunk {
    /// See [`SmallTrunk`].
    Small(SmallTrunk),
    /// See [`PaperTrunk`].
    Paper(PaperTrunk),
}

impl Trunk {
    /// The preset's trunk for `image_size`-pixel images and `z_dim` shared features.
    pub fn new(preset: Preset, image_size: usize, z_dim: usize, device: &Device) -> Self {
        match preset {
            Preset::Small => Trunk::Small(SmallTrunk::new(image_size, z_dim, device)),
            Preset::Paper => Trunk::Paper(PaperTrunk::new(z_dim, device)),
        }
    }
}

impl SharedTrunk for Trunk {
    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Trunk::Small(t) => t.features(images),
            Trunk::Paper(t) => t.features(images),
        }
    }

    fn last_shared(&self) -> &Linear {
        match self {
            Trunk::Small(t) => t.last_shared(),
            Trunk::Paper(t) => t.last_shared(),
        }
    }

    fn costs(&self, image_size: usize, costs: &mut Costs) {
        match self {
            Trunk::Small(t) => t.costs(image_size, costs),
            Trunk::Paper(t) => t.costs(image_size, costs),
        }
    }
}

/// One of the face model's task heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Face verification: an embedding trained by identity cross-entropy and the center loss,
    /// scored on verification pairs (a [`TaskKind::Verification`] task).
    Verification,
    /// Expression: a classifier (a [`TaskKind::Classification`] task).
    Expression,
    /// The head's in-plane tilt: a regression (a [`TaskKind::Regression`] task; the data must
    /// carry [`crate::data::FaceSet::poses`]).
    Pose,
}

impl Head {
    /// The head each of `tasks` trains, in task order; each head serves one task at most.
    pub fn for_tasks(tasks: &Tasks) -> Result<Vec<Head>, TaskError> {
        let mut heads = Vec::with_capacity(tasks.len());
        for (i, t) in tasks.iter().enumerate() {
            let head = match t.kind {
                TaskKind::Verification => Head::Verification,
                TaskKind::Classification => Head::Expression,
                TaskKind::Regression => Head::Pose,
                TaskKind::Other => {
                    return Err(TaskError {
                        field: format!("tasks[{i}].kind"),
                        message: format!(
                            "the face model has no head for a task of kind `other` (`{}`); its \
                             tasks are verification (fv), classification (ex) and regression (pose)",
                            t.name
                        ),
                    })
                }
            };
            if heads.contains(&head) {
                return Err(TaskError {
                    field: format!("tasks[{i}].kind"),
                    message: format!(
                        "the face model has one {} head, and an earlier task uses it",
                        t.kind.as_str()
                    ),
                });
            }
            heads.push(head);
        }
        Ok(heads)
    }
}

/// Θ: trunk, face-verification branch, expression branch and, where a task asks for it, the
/// tilt branch. `T` is the trunk: the built-in presets by default, or any [`SharedTrunk`].
#[derive(Module, Debug)]
pub struct MultiTaskNet<T: SharedTrunk = Trunk> {
    trunk: T,
    fv_embedding: Linear,
    fv_classifier: Linear,
    ex_bottleneck: Linear,
    ex_classifier: Linear,
    // Last, so that the other parameters draw the same numbers from the seed with or without it.
    pose_bottleneck: Option<Linear>,
    pose_output: Option<Linear>,
}

/// What one forward pass yields.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// The input of the last shared layer, `[batch, features]`: a probe restarts from it.
    pub features: Tensor<2>,
    /// Shared features Z, `[batch, z_dim]`.
    pub z: Tensor<2>,
    /// Face-verification embedding X1 (not normalised), `[batch, embedding_dim]`.
    pub embedding: Tensor<2>,
    /// Identity logits over the training subjects, `[batch, n_identities]`.
    pub identity_logits: Tensor<2>,
    /// Expression logits, `[batch, n_expressions]`.
    pub expression_logits: Tensor<2>,
    /// The predicted tilt in standard units of the training labels, `[batch, 1]` (with a
    /// tilt head).
    pub pose: Option<Tensor<2>>,
}

/// The tilt labels' mean and spread over the training images: the tilt head learns
/// (tilt − mean) / std, and its predictions are turned back into degrees with them.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PoseScale {
    /// Mean tilt of the training images, degrees.
    pub mean: f64,
    /// Standard deviation of the training images' tilt, degrees.
    pub std: f64,
}

/// What a trained Θ was built for besides its [`ModelConfig`]: the input side, the two
/// classifiers' widths and, with a tilt head, the scale of its output. Saved beside a done
/// job's model so that it can be rebuilt, loaded and read.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetShape {
    /// Side of the square input images.
    pub image_size: usize,
    /// Training subjects (width of the identity classifier).
    pub identities: usize,
    /// Expressions (width of the expression classifier).
    pub expressions: usize,
    /// The tilt head's output scale (`None`: no tilt head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pose: Option<PoseScale>,
}

impl ModelConfig {
    /// Build Θ of `shape` on a built-in preset. Parameters are drawn from `seed` (see
    /// [`seeded_init`]).
    pub fn init(&self, shape: NetShape, seed: u64, device: &Device) -> MultiTaskNet {
        let trunk = Trunk::new(self.preset, shape.image_size, self.z_dim, device);
        MultiTaskNet::new(trunk, self, shape, seed, device)
    }
}

impl<T: SharedTrunk> MultiTaskNet<T> {
    /// Θ on `trunk` (which must yield `cfg.z_dim` shared features), with the task branches of
    /// `cfg` for `shape`'s training subjects and expressions, and the tilt branch when `shape`
    /// asks for it. Every parameter, the trunk's included, is drawn from `seed` (see
    /// [`seeded_init`]).
    pub fn new(trunk: T, cfg: &ModelConfig, shape: NetShape, seed: u64, device: &Device) -> Self {
        let net = MultiTaskNet {
            trunk,
            fv_embedding: LinearConfig::new(cfg.z_dim, cfg.embedding_dim).init(device),
            fv_classifier: LinearConfig::new(cfg.embedding_dim, shape.identities).init(device),
            ex_bottleneck: LinearConfig::new(cfg.z_dim, cfg.expression_dim).init(device),
            ex_classifier: LinearConfig::new(cfg.expression_dim, shape.expressions).init(device),
            pose_bottleneck: shape
                .pose
                .map(|_| LinearConfig::new(cfg.z_dim, cfg.expression_dim).init(device)),
            pose_output: shape
                .pose
                .map(|_| LinearConfig::new(cfg.expression_dim, 1).init(device)),
        };
        seeded_init(net, seed)
    }

    /// `[batch, 1, s, s]` images → [`Outputs`].
    pub fn forward(&self, images: Tensor<4>) -> Outputs {
        self.forward_from_features(self.trunk.features(images))
    }

    /// The last shared layer and both branches, from the trunk's `features` (see
    /// [`Outputs::features`]). Restarting from detached features gives a small graph whose
    /// backward reaches only the last shared layer and the branches.
    pub fn forward_from_features(&self, features: Tensor<2>) -> Outputs {
        let z = relu(self.trunk.last_shared().forward(features.clone())); // [batch, z_dim]
        let embedding = self.fv_embedding.forward(z.clone()); // [batch, embedding_dim]
        let identity_logits = self.fv_classifier.forward(embedding.clone());
        let x2 = relu(self.ex_bottleneck.forward(z.clone())); // [batch, expression_dim]
        let expression_logits = self.ex_classifier.forward(x2);
        let pose = match (&self.pose_bottleneck, &self.pose_output) {
            (Some(b), Some(o)) => Some(o.forward(relu(b.forward(z.clone())))), // [batch, 1]
            _ => None,
        };
        Outputs {
            features,
            z,
            embedding,
            identity_logits,
            expression_logits,
            pose,
        }
    }

    /// The cost of every convolution and dense layer for one `image_size` image.
    pub fn costs(&self, image_size: usize) -> Costs {
        let mut costs = Costs::default();
        self.trunk.costs(image_size, &mut costs);
        costs.linear(self.trunk.last_shared());
        for layer in [
            Some(&self.fv_embedding),
            Some(&self.fv_classifier),
            Some(&self.ex_bottleneck),
            Some(&self.ex_classifier),
            self.pose_bottleneck.as_ref(),
            self.pose_output.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            costs.linear(layer);
        }
        costs
    }

    /// The weight matrix W of the last shared layer.
    pub fn last_shared_weight(&self) -> Tensor<2> {
        self.trunk.last_shared().weight.val()
    }
}

/// Rows scaled to unit length (with a floor that keeps zero rows finite).
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-10); // [batch, 1]
    x / norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;

    fn shape(image_size: usize, identities: usize, expressions: usize) -> NetShape {
        NetShape {
            image_size,
            identities,
            expressions,
            pose: None,
        }
    }

    const TILT: Option<PoseScale> = Some(PoseScale {
        mean: 0.0,
        std: 1.0,
    });

    /// A tilt head changes no other parameter: the seed's draws for the two-task net come
    /// first.
    #[test]
    fn the_tilt_head_leaves_the_other_parameters_as_they_were() {
        let device = Device::flex();
        let cfg = ModelConfig::default();
        let plain = cfg.init(shape(32, 5, 7), 3, &device);
        let with = cfg.init(
            NetShape {
                pose: TILT,
                ..shape(32, 5, 7)
            },
            3,
            &device,
        );
        let flat = |l: &Linear| l.weight.val().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(flat(&plain.ex_classifier), flat(&with.ex_classifier));
        assert_eq!(flat(&plain.fv_embedding), flat(&with.fv_embedding));
    }

    /// The parameter counts printed in the README (fig2 settings: 32 px, z 128, embedding 64,
    /// expression bottleneck 32, 48 training identities, 7 expressions).
    #[test]
    fn parameter_counts_match_the_readme() {
        let device = Device::flex();
        let mut cfg = ModelConfig {
            preset: Preset::Small,
            trunk: None,
            embedding_dim: 64,
            z_dim: 128,
            expression_dim: 32,
        };
        assert_eq!(cfg.init(shape(32, 48, 7), 1, &device).num_params(), 207_159);
        cfg.preset = Preset::Paper;
        assert_eq!(cfg.init(shape(32, 48, 7), 1, &device).num_params(), 535_063);
        // The tilt head: a 128 → 32 bottleneck and one output.
        let pose = NetShape {
            pose: TILT,
            ..shape(32, 48, 7)
        };
        assert_eq!(
            cfg.init(pose, 1, &device).num_params(),
            535_063 + 128 * 32 + 32 + 32 + 1
        );
        assert_eq!(
            WeightUnitConfig::default()
                .init(128, 2, &device)
                .num_params(),
            258
        );
    }

    /// The small preset at the fig2 settings, counted by hand: convolutions 16·9·32² +
    /// 32·144·16² + 64·288·8² + 64·576·4² multiply–adds, dense 1024·128, heads
    /// 128·64 + 64·48 + 128·32 + 32·7; a training step is three times the forward pass less
    /// the first convolution's input gradient.
    #[test]
    fn flops_of_the_small_preset() {
        let cfg = ModelConfig {
            preset: Preset::Small,
            trunk: None,
            embedding_dim: 64,
            z_dim: 128,
            expression_dim: 32,
        };
        let costs = cfg.init(shape(32, 48, 7), 1, &Device::flex()).costs(32);
        let conv1 = 16 * 9 * 32 * 32;
        let macs: u64 = conv1
            + 32 * 144 * 16 * 16
            + 64 * 288 * 8 * 8
            + 64 * 576 * 4 * 4
            + 1024 * 128
            + (128 * 64 + 64 * 48 + 128 * 32 + 32 * 7);
        assert_eq!(costs.forward_flops(), 2 * macs);
        assert_eq!(costs.training_flops(), 6 * macs - 2 * conv1);
        assert_eq!(costs.training_flops(), 19_164_480);
        assert_eq!(costs.0.len(), 9);
    }

    #[test]
    fn forward_shapes() {
        let device = Device::flex();
        for preset in [Preset::Small, Preset::Paper] {
            let cfg = ModelConfig {
                preset,
                ..ModelConfig::default()
            };
            let net = cfg.init(shape(32, 5, 7), 1, &device);
            let out = net.forward(Tensor::zeros([3, 1, 32, 32], &device));
            assert_eq!(out.z.dims(), [3, 256]);
            assert_eq!(out.embedding.dims(), [3, 128]);
            assert_eq!(out.identity_logits.dims(), [3, 5]);
            assert_eq!(out.expression_logits.dims(), [3, 7]);
            assert!(out.pose.is_none());
            let with_pose = NetShape {
                pose: TILT,
                ..shape(32, 5, 7)
            };
            let out = cfg
                .init(with_pose, 1, &device)
                .forward(Tensor::zeros([3, 1, 32, 32], &device));
            assert_eq!(out.pose.map(|p| p.dims()), Some([3, 1]));
        }
    }
}
