//! The im2col convolution as a burn backend extension: raw kernels on flex, a handwritten
//! backward pass for autodiff.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::ops::{ActivationOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex};
use burn::tensor::ops::ConvOptions;
use burn::tensor::DType;
use burn_flex::FlexTensor;

use super::kernels::{self, Geometry};
use crate::model::flex_slices::{dense, tensor, values};
use crate::model::pool::{Window, WindowMaxPool};

/// A 2-D convolution with its two backward halves as separate operations, so a backend can
/// supply all three. The default bodies are burn's own convolution, which is what every backend
/// but flex runs.
#[backend_extension(Flex, Autodiff)]
pub trait Im2colConv: Backend {
    /// `conv2d(x, weight) + bias`, through a ReLU if `relu`.
    fn im2col_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
        relu: bool,
    ) -> FloatTensor<Self> {
        let out = Self::conv2d(x, weight, Some(bias), options);
        if relu {
            Self::relu(out)
        } else {
            out
        }
    }

    /// `max_pool2d(relu(conv2d(x, weight) + bias))` with `kernel` windows `stride` apart (no
    /// padding, dilation 1): a block of the trunk as one operation, so that a backend can pool
    /// the convolution's output before it leaves the cache.
    fn im2col_conv2d_relu_pool(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        let out = Self::relu(Self::conv2d(x, weight, Some(bias), options));
        Self::max_pool2d(out, kernel, stride, [0, 0], [1, 1], false)
    }

    /// ∂L/∂(the convolution's output before its fused ReLU), given the ReLU's `output` and
    /// ∂L/∂output: the gradient where the output is positive or NaN, else zero.
    fn im2col_relu_backward(
        output: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::relu_backward(output, grad)
    }

    /// ∂L/∂x of [`Im2colConv::im2col_conv2d`] given ∂L/∂out.
    fn im2col_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, grad, options)
    }

    /// ∂L/∂weight of [`Im2colConv::im2col_conv2d`] given ∂L/∂out.
    fn im2col_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, grad, options)
    }

    /// ∂L/∂bias of [`Im2colConv::im2col_conv2d`] given ∂L/∂out.
    fn im2col_conv2d_bias_backward(
        x: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::conv2d_bias_backward(x, bias, grad)
    }
}

/// The kernels' view of a flex convolution, `None` where they do not apply (grouped
/// convolutions, other dtypes): those go to flex's own convolution.
fn geometry(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Option<Geometry> {
    if options.groups != 1 || x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return None;
    }
    let (xs, ws) = (x.layout().shape(), weight.layout().shape());
    if xs.num_dims() != 4 || ws.num_dims() != 4 || xs[1] != ws[1] {
        return None;
    }
    let geometry = Geometry {
        batch: xs[0],
        c_in: xs[1],
        input: [xs[2], xs[3]],
        c_out: ws[0],
        kernel: [ws[2], ws[3]],
        stride: options.stride,
        pad_begin: options.padding_begin(),
        pad_end: options.padding_end(),
        dilation: options.dilation,
    };
    let fits = (0..2).all(|d| {
        geometry.kernel[d] >= 1
            && geometry.dilation[d] * (geometry.kernel[d] - 1)
                < geometry.input[d] + geometry.pad_begin[d] + geometry.pad_end[d]
    });
    fits.then_some(geometry)
}

impl Im2colConv for Flex {
    fn im2col_conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvOptions<2>,
        relu: bool,
    ) -> FlexTensor {
        let Some(g) = geometry(&x, &weight, &options).filter(|_| bias.dtype() == DType::F32) else {
            let out = Self::conv2d(x, weight, Some(bias), options);
            return if relu { Self::relu(out) } else { out };
        };
        let (x, weight, bias) = (dense(x), dense(weight), dense(bias));
        let out = kernels::forward(
            &g,
            values(&x),
            values(&weight),
            Some(values(&bias)),
            relu,
            None,
        );
        let [oh, ow] = g.output();
        tensor(out, [g.batch, g.c_out, oh, ow])
    }

    fn im2col_conv2d_relu_pool(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvOptions<2>,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FlexTensor {
        let fused = geometry(&x, &weight, &options)
            .filter(|_| bias.dtype() == DType::F32)
            .and_then(|g| Some((g, Window::fitting(g.output(), kernel, stride)?)));
        let Some((g, w)) = fused else {
            let out = Self::im2col_conv2d(x, weight, bias, options, true);
            return Self::window_max_pool2d(out, kernel, stride);
        };
        let (x, weight, bias) = (dense(x), dense(weight), dense(bias));
        let out = kernels::forward(
            &g,
            values(&x),
            values(&weight),
            Some(values(&bias)),
            true,
            Some(&w),
        );
        let [ph, pw] = w.output();
        tensor(out, [g.batch, g.c_out, ph, pw])
    }

    fn im2col_relu_backward(output: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let shape = grad.layout().shape().clone();
        if output.dtype() != DType::F32
            || grad.dtype() != DType::F32
            || *output.layout().shape() != shape
        {
            return Self::relu_backward(output, grad);
        }
        // Written over whichever operand this op owns alone, as flex's own op does.
        let n = shape.num_elements();
        let reusable =
            |t: &FlexTensor| t.is_unique() && t.layout().contiguous_offsets() == Some((0, n));
        let (mut dst, other, dst_is_output) = if reusable(&output) {
            (output, dense(grad), true)
        } else if reusable(&grad) {
            (grad, dense(output), false)
        } else {
            return Self::relu_backward(output, grad);
        };
        kernels::relu_backward(
            &mut dst.storage_mut::<f32>()[..n],
            values(&other),
            dst_is_output,
        );
        dst
    }

    fn im2col_conv2d_x_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(g) = geometry(&x, &weight, &options).filter(|_| grad.dtype() == DType::F32) else {
            return Self::conv2d_x_backward(x, weight, grad, options);
        };
        let (weight, grad) = (dense(weight), dense(grad));
        let dx = kernels::input_grad(&g, values(&weight), values(&grad));
        tensor(dx, [g.batch, g.c_in, g.input[0], g.input[1]])
    }

    fn im2col_conv2d_weight_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(g) = geometry(&x, &weight, &options).filter(|_| grad.dtype() == DType::F32) else {
            return Self::conv2d_weight_backward(x, weight, grad, options);
        };
        let (x, grad) = (dense(x), dense(grad));
        let dw = kernels::weight_grad(&g, values(&x), values(&grad));
        tensor(dw, [g.c_out, g.c_in, g.kernel[0], g.kernel[1]])
    }

    fn im2col_conv2d_bias_backward(
        x: FlexTensor,
        bias: FlexTensor,
        grad: FlexTensor,
    ) -> FlexTensor {
        let shape = grad.layout().shape().clone();
        if grad.dtype() != DType::F32 || shape.num_dims() != 4 {
            return Self::conv2d_bias_backward(x, bias, grad);
        }
        let grad = dense(grad);
        let db = kernels::bias_grad(values(&grad), shape[0], shape[1], shape[2] * shape[3]);
        tensor(db, [shape[1]])
    }
}

/// The backward step of [`Im2colConv::im2col_conv2d`] under autodiff: the ReLU's mask (from
/// the output it kept) if there is one, then each input that needs a gradient gets it from the
/// inner backend's backward half.
#[derive(Debug)]
struct Im2colConvBackward;

/// What the backward step keeps: the inputs' nodes, the options, and the output when a ReLU
/// was fused in (its mask is where the output is positive).
type ConvState<B> = (
    NodeId,
    NodeId,
    NodeId,
    ConvOptions<2>,
    Option<FloatTensor<B>>,
);

impl<B: Backend + Im2colConv> Backward<B, 3> for Im2colConvBackward {
    type State = ConvState<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, bias, options, relu_output) = ops.state;
        let grad = match relu_output {
            Some(output) => B::im2col_relu_backward(output, grad),
            None => grad,
        };
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight);
        let bias = checkpointer.retrieve_node_output::<FloatTensor<B>>(bias);
        if let Some(node) = node_x {
            let dx = B::im2col_conv2d_x_backward(
                x.clone(),
                weight.clone(),
                grad.clone(),
                options.clone(),
            );
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_weight {
            let dw = B::im2col_conv2d_weight_backward(x.clone(), weight, grad.clone(), options);
            grads.register::<B>(node.id, dw);
        }
        if let Some(node) = node_bias {
            grads.register::<B>(node.id, B::im2col_conv2d_bias_backward(x, bias, grad));
        }
    }
}

impl<B: Backend + Im2colConv + WindowMaxPool, C: CheckpointStrategy> Im2colConv for Autodiff<B, C> {
    /// Under autodiff the two operations stay apart: the backward pass needs the
    /// convolution's output.
    fn im2col_conv2d_relu_pool(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
        kernel: [usize; 2],
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        let out = Self::im2col_conv2d(x, weight, bias, options, true);
        Self::window_max_pool2d(out, kernel, stride)
    }

    fn im2col_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
        relu: bool,
    ) -> FloatTensor<Self> {
        match Im2colConvBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let nodes = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    prep.checkpoint(&bias),
                );
                let out = B::im2col_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    options.clone(),
                    relu,
                );
                let kept = relu.then(|| out.clone());
                prep.finish((nodes.0, nodes.1, nodes.2, options, kept), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::im2col_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                options,
                relu,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::flex_slices::tensor;

    /// The parallel mask is flex's `relu_backward`, bit for bit (positive, zero, negative
    /// zero, negative and NaN outputs, over more elements than one parallel task takes),
    /// whichever operand it writes over: the output, the gradient when the output is shared,
    /// neither when both are; and a shared operand keeps its values.
    #[test]
    fn relu_backward_is_flexs() {
        let n = 5 * 40_000;
        let special = [1.5, 0.0, -0.0, -2.0, f32::NAN, 1e-30, -1e-30];
        let output = tensor((0..n).map(|k| special[k % 7]).collect(), [n / 5, 5]);
        let grad = tensor(
            (0..n).map(|k| [3.0, -0.0, f32::NAN, -1.0][k % 4]).collect(),
            [n / 5, 5],
        );
        let bits = |t: &FlexTensor| values(t).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let (output_bits, grad_bits) = (bits(&output), bits(&grad));
        let want = bits(&Flex::relu_backward(output.clone(), grad.clone()));
        let copy = |t: &FlexTensor| tensor(values(t).to_vec(), [n / 5, 5]);
        for (share_output, share_grad) in [(false, false), (true, false), (true, true)] {
            let (out_t, grad_t) = (copy(&output), copy(&grad));
            let held_output = share_output.then(|| out_t.clone());
            let held_grad = share_grad.then(|| grad_t.clone());
            let got = Flex::im2col_relu_backward(out_t, grad_t);
            let case = format!("output shared {share_output}, gradient shared {share_grad}");
            assert_eq!(bits(&got), want, "{case}");
            assert_eq!(got.layout().shape(), output.layout().shape(), "{case}");
            if let Some(held) = held_output {
                assert_eq!(bits(&held), output_bits, "{case}");
            }
            if let Some(held) = held_grad {
                assert_eq!(bits(&held), grad_bits, "{case}");
            }
        }
    }
}
