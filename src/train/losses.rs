//! The task losses: identity cross-entropy plus center loss (L1), expression cross-entropy (L2).

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::TensorData;

use crate::config::CenterLossConfig;
use crate::model::l2_normalize;

/// Mean cross-entropy of `logits` `[batch, classes]` against the one-hot `targets`
/// `[batch, classes]`; a `[1]` tensor.
pub fn cross_entropy(logits: Tensor<2>, one_hot: Tensor<2>) -> Tensor<1> {
    let [batch, _] = logits.dims();
    (log_softmax(logits, 1) * one_hot)
        .sum()
        .neg()
        .div_scalar(batch as f64)
}

/// A `[labels.len(), classes]` one-hot matrix on `device`.
pub fn one_hot(labels: &[u32], classes: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0f32; labels.len() * classes];
    for (row, &l) in labels.iter().enumerate() {
        v[row * classes + l as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(v, vec![labels.len(), classes]), device)
}

/// Per-identity centers of the L2-normalised embedding. The centers are state, not
/// parameters: they move towards each batch's class means and receive no gradient.
#[derive(Debug, Clone)]
pub struct CenterLoss {
    centers: Tensor<2>,
    config: CenterLossConfig,
}

impl CenterLoss {
    /// Zero centers for `classes` identities of `dim`-wide embeddings.
    pub fn new(classes: usize, dim: usize, config: CenterLossConfig, device: &Device) -> Self {
        Self {
            centers: Tensor::zeros([classes, dim], device),
            config,
        }
    }

    /// α · mean_s ‖x̂_s − c_{y_s}‖² for embeddings `[batch, dim]` and one-hot labels
    /// `[batch, classes]`; a `[1]` tensor attached to the embedding's graph.
    pub fn loss(&self, embedding: Tensor<2>, one_hot: Tensor<2>) -> Tensor<1> {
        let [batch, _] = embedding.dims();
        let centers = one_hot.matmul(self.centers.clone()); // [batch, dim]
        (l2_normalize(embedding) - centers)
            .powf_scalar(2.0)
            .sum()
            .mul_scalar(self.config.alpha / batch as f64)
    }

    /// The centers as `(values, [classes, dim])`, for a checkpoint (f32 values held as f64,
    /// which is exact).
    pub fn to_values(&self) -> (Vec<f64>, [usize; 2]) {
        let dims = self.centers.dims();
        let values = self
            .centers
            .to_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap_or_default();
        (values.into_iter().map(f64::from).collect(), dims)
    }

    /// Replace the centers with checkpointed `values` of shape `dims`; an error when the shape
    /// is not this loss's.
    pub fn set_values(&mut self, values: Vec<f64>, dims: [usize; 2]) -> Result<(), String> {
        if dims != self.centers.dims() || values.len() != dims[0] * dims[1] {
            return Err(format!(
                "centers of shape {dims:?} for a loss of shape {:?}",
                self.centers.dims()
            ));
        }
        let device = self.centers.device();
        let values: Vec<f32> = values.into_iter().map(|v| v as f32).collect();
        self.centers = Tensor::from_data(TensorData::new(values, dims.to_vec()), &device);
        Ok(())
    }

    /// Move the centers of the classes present in the batch towards their batch means.
    pub fn update(&mut self, embedding: Tensor<2>, one_hot: Tensor<2>) {
        let x = l2_normalize(embedding.detach()); // [batch, dim]
        let one_hot = one_hot.detach();
        let counts = one_hot.clone().sum_dim(0).transpose(); // [classes, 1]
        let sums = one_hot.transpose().matmul(x); // [classes, dim]
        let present = counts.clone().greater_elem(0.0).float(); // [classes, 1]
        let means = sums / counts.clamp_min(1.0);
        let step = (self.centers.clone() - means) * present.mul_scalar(1.0 - self.config.beta);
        self.centers = (self.centers.clone() - step).detach();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_matches_hand_value() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0f32, 0.0, 1.0, 1.0], vec![2, 2]),
            &device,
        );
        let ce = cross_entropy(logits, one_hot(&[0, 1], 2, &device)).into_scalar::<f32>();
        assert!((ce - std::f32::consts::LN_2).abs() < 1e-6);
    }

    #[test]
    fn centers_move_half_way_to_the_batch_mean() {
        let device = Device::flex();
        let mut cl = CenterLoss::new(2, 2, CenterLossConfig::default(), &device);
        let emb = Tensor::<2>::from_data(TensorData::new(vec![3f32, 4.0], vec![1, 2]), &device);
        cl.update(emb.clone(), one_hot(&[1], 2, &device));
        let c = cl.centers.clone().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(c[..2], [0.0, 0.0]); // absent class untouched
        assert!(
            (c[2] - 0.3).abs() < 1e-6 && (c[3] - 0.4).abs() < 1e-6,
            "{c:?}"
        );
        // loss = α · ‖(0.6, 0.8) − (0.3, 0.4)‖² = 0.1 · 0.25
        let l = cl.loss(emb, one_hot(&[1], 2, &device)).into_scalar::<f32>();
        assert!((l - 0.025).abs() < 1e-6, "{l}");
    }
}
