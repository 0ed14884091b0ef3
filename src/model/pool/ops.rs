//! Window max pooling as a burn backend extension: raw kernels on flex, a handwritten backward
//! pass for autodiff.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex};
use burn::tensor::{DType, IntDType};
use burn_flex::FlexTensor;

use super::kernels::{self, Window};
use crate::model::flex_slices::{dense, tensor, values};

/// Max pooling (no padding, dilation 1) whose backward pass needs only the input and the
/// output gradient. The default bodies are burn's own pooling, which is what every backend but
/// flex runs.
#[backend_extension(Flex, Autodiff)]
pub trait WindowMaxPool: Backend {
    /// The maximum of each `kernel` window, windows `stride` apart.
    fn window_max_pool2d(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        Self::max_pool2d(x, kernel, stride, [0, 0], [1, 1], false)
    }

    /// ∂L/∂x of [`WindowMaxPool::window_max_pool2d`] given ∂L/∂out.
    fn window_max_pool2d_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        burn_backward::<Self>(x, grad, kernel, stride)
    }
}

/// Burn's own pooling gradient: indices from a second forward pass, then its scatter.
fn burn_backward<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
    kernel: [usize; 2],
    stride: [usize; 2],
) -> FloatTensor<B> {
    let (pad, dilation) = ([0, 0], [1, 1]);
    let indices = B::max_pool2d_with_indices(
        x.clone(),
        kernel,
        stride,
        pad,
        dilation,
        false,
        IntDType::I64,
    )
    .indices;
    B::max_pool2d_with_indices_backward(x, kernel, stride, pad, dilation, false, grad, indices)
        .x_grad
}

/// The kernels' view of a flex pooling: `[batch·channels planes, window]`, `None` for other
/// dtypes or ranks (those go to flex's own pooling).
fn window(x: &FlexTensor, kernel: [usize; 2], stride: [usize; 2]) -> Option<Window> {
    let shape = x.layout().shape();
    if x.dtype() != DType::F32 || shape.num_dims() != 4 {
        return None;
    }
    Window::fitting([shape[2], shape[3]], kernel, stride)
}

impl WindowMaxPool for Flex {
    fn window_max_pool2d(x: FlexTensor, kernel: [usize; 2], stride: [usize; 2]) -> FlexTensor {
        let Some(w) = window(&x, kernel, stride) else {
            return Self::max_pool2d(x, kernel, stride, [0, 0], [1, 1], false);
        };
        let shape = x.layout().shape().clone();
        let x = dense(x);
        let [oh, ow] = w.output();
        tensor(
            kernels::forward(&w, values(&x)),
            [shape[0], shape[1], oh, ow],
        )
    }

    fn window_max_pool2d_backward(
        x: FlexTensor,
        grad: FlexTensor,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FlexTensor {
        let Some(w) = window(&x, kernel, stride).filter(|_| grad.dtype() == DType::F32) else {
            return burn_backward::<Self>(x, grad, kernel, stride);
        };
        let shape = x.layout().shape().clone();
        let (x, grad) = (dense(x), dense(grad));
        tensor(
            kernels::backward(&w, values(&x), values(&grad)),
            [shape[0], shape[1], shape[2], shape[3]],
        )
    }
}

/// The backward step of [`WindowMaxPool::window_max_pool2d`] under autodiff.
#[derive(Debug)]
struct WindowMaxPoolBackward;

impl<B: Backend + WindowMaxPool> Backward<B, 1> for WindowMaxPoolBackward {
    type State = (NodeId, [usize; 2], [usize; 2]);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, kernel, stride) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        if let Some(node) = node_x {
            grads.register::<B>(
                node.id,
                B::window_max_pool2d_backward(x, grad, kernel, stride),
            );
        }
    }
}

impl<B: Backend + WindowMaxPool, C: CheckpointStrategy> WindowMaxPool for Autodiff<B, C> {
    fn window_max_pool2d(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        match WindowMaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), kernel, stride);
                prep.finish(
                    state,
                    B::window_max_pool2d(x.into_primitive(), kernel, stride),
                )
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::window_max_pool2d(x.into_primitive(), kernel, stride))
            }
        }
    }
}
