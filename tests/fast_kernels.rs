//! The trunks' own convolution and max pooling on flex (`weightlab::model::{conv, pool}`)
//! against burn's layers with the same parameters: outputs and every gradient. Every input
//! and parameter is drawn from weightlab's seeded generator, so a failure reproduces.

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::TensorData;
use weightlab::model::{conv, pool};
use weightlab::rng::Rng;

fn device() -> Device {
    Device::flex().autodiff()
}

/// A `[shape]` tensor of standard normal values from stream `stream` of a fixed seed.
fn normal<const D: usize>(shape: [usize; D], stream: u64, dev: &Device) -> Tensor<D> {
    let mut rng = Rng::derive(0xC0DE, stream);
    let values: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| rng.normal() as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, shape.to_vec()), dev)
}

/// Redraws every float parameter (biases too, so a dropped bias shows) from a seeded stream.
struct Redraw(u64);

impl ModuleMapper for Redraw {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        self.0 += 1;
        let stream = self.0;
        param.map(|old| {
            let fresh = normal(old.dims(), stream, &old.device()) * 0.3;
            if old.is_require_grad() {
                fresh.require_grad()
            } else {
                fresh
            }
        })
    }
}

/// `layer` with seeded parameters.
fn seeded(layer: Conv2d, seed: u64) -> Conv2d {
    layer.map(&mut Redraw(seed * 100))
}

/// The largest |a − b| relative to the largest |b|.
fn relative_gap<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let scale = b.clone().abs().max().into_scalar::<f32>().max(1e-12);
    (a - b).abs().max().into_scalar::<f32>() / scale
}

fn check_conv(conv_layer: &Conv2d, shape: [usize; 4]) {
    let dev = device();
    let x = normal(shape, 1, &dev).require_grad();
    let ours = conv::forward(conv_layer, x.clone());
    let theirs = conv_layer.forward(x.clone());
    assert_eq!(ours.dims(), theirs.dims());
    let probe = normal(theirs.dims(), 2, &dev);
    let g_ours = (ours.clone() * probe.clone()).sum().backward();
    let g_theirs = (theirs.clone() * probe).sum().backward();
    let tol = 1e-5;
    let gap = relative_gap(ours, theirs);
    assert!(gap < tol, "output differs by {gap} for {shape:?}");
    let grad = |t: &Tensor<4>, g| t.grad(g).expect("a gradient");
    let gap = relative_gap(grad(&x, &g_ours), grad(&x, &g_theirs));
    assert!(gap < tol, "∂x differs by {gap} for {shape:?}");
    let w = conv_layer.weight.val();
    let gap = relative_gap(grad(&w, &g_ours), grad(&w, &g_theirs));
    assert!(gap < tol, "∂weight differs by {gap} for {shape:?}");
    let b = conv_layer.bias.as_ref().expect("a bias").val();
    let gap = relative_gap(b.grad(&g_ours).unwrap(), b.grad(&g_theirs).unwrap());
    assert!(gap < tol, "∂bias differs by {gap} for {shape:?}");
}

#[test]
fn convolution_matches_burns_layer_with_its_gradients() {
    let dev = device();
    // The small trunk's 3×3 "same" convolutions, and the paper trunk's strided stem and 1×1s.
    let same = |c_in, c_out, seed| {
        seeded(
            Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(&dev),
            seed,
        )
    };
    check_conv(&same(1, 16, 1), [4, 1, 16, 16]);
    check_conv(&same(16, 8, 2), [3, 16, 8, 8]);
    let strided = Conv2dConfig::new([3, 8], [3, 3])
        .with_stride([2, 2])
        .init(&dev);
    check_conv(&seeded(strided, 3), [2, 3, 11, 11]);
    let pointwise = Conv2dConfig::new([8, 4], [1, 1]).init(&dev);
    check_conv(&seeded(pointwise, 4), [5, 8, 4, 4]);
    let uneven = Conv2dConfig::new([2, 3], [2, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 0, 0, 2))
        .with_dilation([2, 1])
        .init(&dev);
    check_conv(&seeded(uneven, 5), [2, 2, 7, 6]);
}

#[test]
fn max_pooling_matches_burns_layer_with_its_gradient() {
    let dev = device();
    for (kernel, stride, shape) in [
        ([2, 2], [2, 2], [4, 3, 8, 8]),
        ([2, 2], [2, 2], [2, 2, 5, 7]),
        ([3, 3], [2, 2], [2, 2, 9, 9]),
    ] {
        let layer = MaxPool2dConfig::new(kernel).with_strides(stride).init();
        // Continuous random values: no ties, so both layers route every gradient the same way.
        let x = normal(shape, 3, &dev).require_grad();
        let ours = pool::forward(&layer, x.clone());
        let theirs = layer.forward(x.clone());
        assert_eq!(
            ours.to_data().try_to_vec::<f32>().unwrap(),
            theirs.to_data().try_to_vec::<f32>().unwrap()
        );
        let probe = normal(theirs.dims(), 4, &dev);
        let dx_ours = x
            .grad(&(ours * probe.clone()).sum().backward())
            .unwrap()
            .to_data()
            .try_to_vec::<f32>()
            .unwrap();
        let dx_theirs = x
            .grad(&(theirs * probe).sum().backward())
            .unwrap()
            .to_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(dx_ours, dx_theirs, "{kernel:?}/{stride:?} on {shape:?}");
    }
}

#[test]
fn layers_without_autodiff_give_the_same_output() {
    let dev = Device::flex();
    let layer = seeded(
        Conv2dConfig::new([2, 4], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&dev),
        6,
    );
    let x = normal([2, 2, 6, 6], 5, &dev);
    let gap = relative_gap(conv::forward(&layer, x.clone()), layer.forward(x.clone()));
    assert!(gap < 1e-5, "{gap}");
    let pool_layer = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
    let gap = relative_gap(pool::forward(&pool_layer, x.clone()), pool_layer.forward(x));
    assert_eq!(gap, 0.0);
}

/// The fused layers end to end against burn's own ops: conv → ReLU (→ 2×2 max pool), on the
/// small trunk's shapes (where the direct kernel runs on a CPU with AVX2 or AVX-512) and a
/// shape of the GEMM path, with and without autodiff (evaluation pools inside the
/// convolution), outputs and the input, weight and bias gradients.
#[test]
fn fused_conv_relu_and_pool_match_burns_ops() {
    use burn::tensor::activation::relu;
    let pool_layer = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
    for (k, (c_in, c_out, side)) in [(1, 16, 32), (16, 32, 16), (3, 5, 10)]
        .into_iter()
        .enumerate()
    {
        for dev in [device(), Device::flex()] {
            let layer = seeded(
                Conv2dConfig::new([c_in, c_out], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(&dev),
                10 + k as u64,
            );
            let grads = dev.is_autodiff();
            let x = normal([3, c_in, side, side], 20 + k as u64, &dev);
            let x = if grads { x.require_grad() } else { x };
            for pooled in [false, true] {
                let (ours, theirs) = if pooled {
                    (
                        conv::forward_relu_pool(&layer, &pool_layer, x.clone()),
                        pool_layer.forward(relu(layer.forward(x.clone()))),
                    )
                } else {
                    (
                        conv::forward_relu(&layer, x.clone()),
                        relu(layer.forward(x.clone())),
                    )
                };
                assert_eq!(ours.dims(), theirs.dims());
                let what = format!("{c_in}→{c_out} on {side}², pooled {pooled}, autodiff {grads}");
                let gap = relative_gap(ours.clone(), theirs.clone());
                assert!(gap < 1e-5, "output differs by {gap}: {what}");
                if !grads {
                    continue;
                }
                let probe = normal(theirs.dims(), 30 + k as u64, &dev);
                let g_ours = (ours * probe.clone()).sum().backward();
                let g_theirs = (theirs * probe).sum().backward();
                let w = layer.weight.val();
                let b = layer.bias.as_ref().expect("a bias").val();
                let gap = relative_gap(x.grad(&g_ours).unwrap(), x.grad(&g_theirs).unwrap());
                assert!(gap < 1e-5, "∂x differs by {gap}: {what}");
                let gap = relative_gap(w.grad(&g_ours).unwrap(), w.grad(&g_theirs).unwrap());
                assert!(gap < 1e-5, "∂weight differs by {gap}: {what}");
                let gap = relative_gap(b.grad(&g_ours).unwrap(), b.grad(&g_theirs).unwrap());
                assert!(gap < 1e-5, "∂bias differs by {gap}: {what}");
            }
        }
    }
}
