//! Between flex tensors and the plain `f32` slices the trunks' own kernels work on.

use burn::tensor::TensorData;
use burn_flex::FlexTensor;

/// The tensor with its elements in row-major order (copied only when it is a strided view).
pub fn dense(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The elements of a [`dense`] f32 tensor. Callers check the dtype before they get here.
pub fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("a dense f32 tensor (the dtype is checked before the kernels run)")
}

/// A flex tensor of `shape` holding `values`.
pub fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
