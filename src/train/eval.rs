//! Evaluation after every epoch, each task by its metric: face-verification accuracy on
//! balanced test pairs with LFW-style 10-fold thresholds, expression top-1 accuracy (or error
//! rate) on the test images, and the tilt's mean absolute error in degrees (or RMSE, MSE).

use burn::prelude::*;

use super::batch_images;
use super::heads::FaceTasks;
use crate::data::pairs::Pair;
use crate::data::FaceSet;
use crate::model::{Head, MultiTaskNet, SharedTrunk};

/// Evaluate `net` (a validation copy, no autodiff) on the `test` images and `pairs`: one
/// metric per task of `face`, in task order.
pub fn evaluate<T: SharedTrunk>(
    net: &MultiTaskNet<T>,
    set: &FaceSet,
    test: &[usize],
    pairs: &[Pair],
    batch_size: usize,
    device: &Device,
    face: &FaceTasks,
) -> Vec<f64> {
    let dim_pos: std::collections::HashMap<usize, usize> =
        test.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let mut embeddings: Vec<Vec<f32>> = Vec::with_capacity(test.len());
    let mut correct = 0usize;
    // Tilt errors in degrees, image by image.
    let mut pose_errors: Vec<f64> = Vec::new();
    for chunk in test.chunks(batch_size.max(1)) {
        let images = batch_images(set, chunk, device);
        let out = net.forward(images);
        let emb = crate::model::l2_normalize(out.embedding);
        let [b, d] = emb.dims();
        let flat = emb.into_data().try_to_vec::<f32>().unwrap_or_default();
        embeddings.extend((0..b).map(|r| flat[r * d..(r + 1) * d].to_vec()));
        let predicted = out
            .expression_logits
            .argmax(1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap_or_default();
        correct += chunk
            .iter()
            .zip(&predicted)
            .filter(|(&i, &p)| set.expressions[i] as i64 == p)
            .count();
        if let (Some(pred), Some(scale), true) = (out.pose, face.pose, set.has_poses()) {
            let pred = pred
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .unwrap_or_default();
            pose_errors.extend(
                chunk
                    .iter()
                    .zip(&pred)
                    .map(|(&i, p)| p * scale.std + scale.mean - set.poses[i] as f64),
            );
        }
    }
    let distances: Vec<(f64, bool)> = pairs
        .iter()
        .map(|p| {
            let a = &embeddings[dim_pos[&p.reference]];
            let b = &embeddings[dim_pos[&p.probe]];
            let d: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
            (d, p.same)
        })
        .collect();
    let ex_acc = correct as f64 / test.len().max(1) as f64;
    // No tilt labels in the scored data: no tilt error.
    let n = if pose_errors.is_empty() {
        f64::NAN
    } else {
        pose_errors.len() as f64
    };
    face.heads
        .iter()
        .zip(face.tasks.iter())
        .map(|(head, task)| match (head, task.metric.name.as_str()) {
            (Head::Verification, _) => ten_fold_accuracy(&distances, 10),
            (Head::Expression, "error") => 1.0 - ex_acc,
            (Head::Expression, _) => ex_acc,
            (Head::Pose, "mse") => pose_errors.iter().map(|e| e * e).sum::<f64>() / n,
            (Head::Pose, "rmse") => (pose_errors.iter().map(|e| e * e).sum::<f64>() / n).sqrt(),
            (Head::Pose, _) => pose_errors.iter().map(|e| e.abs()).sum::<f64>() / n,
        })
        .collect()
}

/// LFW-style verification accuracy: the pairs (distance, same?) are cut into `folds`
/// contiguous folds; for each fold the threshold that maximises accuracy on the other folds
/// is applied to it; the mean over folds is returned. A pair is predicted "same" when its
/// distance is below the threshold.
pub fn ten_fold_accuracy(pairs: &[(f64, bool)], folds: usize) -> f64 {
    if pairs.is_empty() {
        return 0.0;
    }
    let folds = folds.min(pairs.len()).max(1);
    let fold_of = |k: usize| k * folds / pairs.len();
    let mut total = 0.0;
    for f in 0..folds {
        let train: Vec<(f64, bool)> = (0..pairs.len())
            .filter(|&k| fold_of(k) != f)
            .map(|k| pairs[k])
            .collect();
        let test: Vec<(f64, bool)> = (0..pairs.len())
            .filter(|&k| fold_of(k) == f)
            .map(|k| pairs[k])
            .collect();
        let threshold = if train.is_empty() {
            best_threshold(&test)
        } else {
            best_threshold(&train)
        };
        total += accuracy_at(&test, threshold);
    }
    total / folds as f64
}

fn accuracy_at(pairs: &[(f64, bool)], threshold: f64) -> f64 {
    let right = pairs
        .iter()
        .filter(|(d, same)| (*d < threshold) == *same)
        .count();
    right as f64 / pairs.len().max(1) as f64
}

/// The threshold with the best accuracy on `pairs`: midpoints between sorted distances are
/// scanned in one pass; ties go to the smallest threshold so the choice is deterministic.
pub fn best_threshold(pairs: &[(f64, bool)]) -> f64 {
    let mut sorted = pairs.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Threshold below everything: every pair predicted "different".
    let mut right = sorted.iter().filter(|p| !p.1).count();
    let mut best = (right, sorted.first().map_or(0.0, |p| p.0 - 1.0));
    for k in 0..sorted.len() {
        // Moving the threshold above sorted[k] flips it to "same".
        if sorted[k].1 {
            right += 1;
        } else {
            right -= 1;
        }
        let next = sorted.get(k + 1).map_or(sorted[k].0 + 1.0, |p| p.0);
        if next > sorted[k].0 && right > best.0 {
            best = (right, 0.5 * (sorted[k].0 + next));
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_pairs_score_one_and_random_pairs_about_half() {
        // Distances that separate the labels perfectly.
        let clean: Vec<(f64, bool)> = (0..40)
            .map(|k| ((k % 2) as f64 + 0.001 * k as f64, k % 2 == 0))
            .collect();
        assert_eq!(ten_fold_accuracy(&clean, 10), 1.0);
        // Labels drawn independently of the distances: no threshold can beat chance.
        let mut rng = crate::rng::Rng::new(11);
        let random: Vec<(f64, bool)> = (0..600)
            .map(|_| (rng.uniform(), rng.uniform() < 0.5))
            .collect();
        let acc = ten_fold_accuracy(&random, 10);
        assert!((0.4..0.6).contains(&acc), "{acc}");
        let t = best_threshold(&[(0.1, true), (0.2, true), (0.8, false), (0.9, false)]);
        assert!(t > 0.2 && t < 0.8);
    }
}
