//! [`FaceTasks`]: the face model's view of a study's tasks — which [`Head`] each task trains,
//! the labels a batch carries for it, its loss and its metric. The loop, the strategies and the
//! logs see only the task list; this is where the face model turns it into heads.
//!
//! - verification (`fv`): identity cross-entropy plus the center loss; accuracy on pairs;
//! - classification (`ex`): expression cross-entropy; accuracy (or error rate);
//! - regression (`pose`): squared error of the tilt in standard units of the training labels;
//!   mean absolute error in degrees (or RMSE, MSE).

use burn::prelude::*;
use burn::tensor::TensorData;

use super::losses::{self, CenterLoss};
use crate::data::{FaceSet, Split};
use crate::error::{Error, Result};
use crate::model::{Head, NetShape, Outputs, PoseScale};
use crate::strategy::TaskLosses;
use crate::task::Tasks;

/// The tilt scale of `split`'s training images of `set`, or why there is none.
fn pose_scale(set: &FaceSet, split: &Split) -> Result<PoseScale> {
    if !set.has_poses() {
        return Err(Error::input(
            set.name.clone(),
            "tasks",
            format!(
                "dataset `{}` has no tilt labels for the `pose` task; only the synthetic \
                 faces (and sources that fill FaceSet::poses) carry them",
                set.name
            ),
        ));
    }
    let y: Vec<f64> = split.train.iter().map(|&i| set.poses[i] as f64).collect();
    let n = y.len().max(1) as f64;
    let mean = y.iter().sum::<f64>() / n;
    let std = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    // NaN (no training images) fails too.
    if std.is_nan() || std <= 0.0 {
        return Err(Error::input(
            set.name.clone(),
            "tasks",
            format!(
                "the tilt of dataset `{}` does not vary (synthetic `jitter` or `tilt` is 0), \
                 so the `pose` task has nothing to learn",
                set.name
            ),
        ));
    }
    Ok(PoseScale { mean, std })
}

/// A study's tasks as the face model trains and scores them.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceTasks {
    /// The tasks, in order.
    pub tasks: Tasks,
    /// The head of each task, in task order.
    pub heads: Vec<Head>,
    /// The tilt's scale, with a tilt head.
    pub pose: Option<PoseScale>,
}

/// The labels of one batch, on the batch's device.
#[derive(Debug, Clone)]
pub struct Labels {
    /// One-hot identity labels over the training subjects, `[batch, n_ids]`.
    pub id_1h: Tensor<2>,
    /// One-hot expression labels, `[batch, n_expressions]`.
    pub ex_1h: Tensor<2>,
    /// Standardised tilt, `[batch, 1]` (with a tilt head).
    pub pose: Option<Tensor<2>>,
}

impl FaceTasks {
    /// The face model's view of `tasks` on `set` split by `split`: an input error when a task
    /// has no head or its labels are missing.
    pub fn new(tasks: &Tasks, set: &FaceSet, split: &Split) -> Result<Self> {
        let heads = Head::for_tasks(tasks)
            .map_err(|e| Error::input(set.name.clone(), e.field, e.message))?;
        let pose = if heads.contains(&Head::Pose) {
            Some(pose_scale(set, split)?)
        } else {
            None
        };
        Ok(Self {
            tasks: tasks.clone(),
            heads,
            pose,
        })
    }

    /// The shape of Θ for `set` split by `split`.
    pub fn shape(&self, set: &FaceSet, split: &Split) -> NetShape {
        NetShape {
            image_size: set.image_size,
            identities: split.n_train_subjects,
            expressions: set.expression_names.len(),
            pose: self.pose,
        }
    }

    /// The face model's view of `tasks` for a trained Θ of `shape`, to score it on any data
    /// (a task whose labels the data lacks scores NaN).
    pub fn of_trained(tasks: &Tasks, shape: &NetShape) -> Result<Self> {
        let heads = Head::for_tasks(tasks).map_err(|e| Error::input("RUN", e.field, e.message))?;
        Ok(Self {
            tasks: tasks.clone(),
            heads,
            pose: shape.pose,
        })
    }

    /// The labels of the training images at `positions` of `split`'s training list.
    pub fn labels(
        &self,
        set: &FaceSet,
        split: &Split,
        positions: &[usize],
        device: &Device,
    ) -> Labels {
        let indices: Vec<usize> = positions.iter().map(|&k| split.train[k]).collect();
        let ids: Vec<u32> = positions.iter().map(|&k| split.train_labels[k]).collect();
        let exprs: Vec<u32> = indices.iter().map(|&i| set.expressions[i]).collect();
        let pose = self.pose.map(|s| {
            let y: Vec<f32> = indices
                .iter()
                .map(|&i| ((set.poses[i] as f64 - s.mean) / s.std) as f32)
                .collect();
            Tensor::from_data(TensorData::new(y, vec![indices.len(), 1]), device)
        });
        Labels {
            id_1h: losses::one_hot(&ids, split.n_train_subjects, device),
            ex_1h: losses::one_hot(&exprs, set.expression_names.len(), device),
            pose,
        }
    }

    /// The task losses of one forward pass, in task order.
    pub fn losses(&self, o: &Outputs, labels: &Labels, centers: &CenterLoss) -> TaskLosses {
        TaskLosses(
            self.heads
                .iter()
                .map(|&h| head_loss(h, o, labels, centers))
                .collect(),
        )
    }
}

/// The loss of `head` on one forward pass: a `[1]` tensor attached to Θ's graph.
pub fn head_loss(head: Head, o: &Outputs, labels: &Labels, centers: &CenterLoss) -> Tensor<1> {
    match head {
        Head::Verification => {
            losses::cross_entropy(o.identity_logits.clone(), labels.id_1h.clone())
                + centers.loss(o.embedding.clone(), labels.id_1h.clone())
        }
        Head::Expression => {
            losses::cross_entropy(o.expression_logits.clone(), labels.ex_1h.clone())
        }
        Head::Pose => {
            let (Some(pred), Some(y)) = (&o.pose, &labels.pose) else {
                unreachable!("a pose task builds the tilt head and its labels")
            };
            (pred.clone() - y.clone()).powf_scalar(2.0).mean()
        }
    }
}
