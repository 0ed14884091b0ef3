//! The `paper` trunk: a reduced Inception-ResNet-v1 (stem, residual Inception blocks of type A
//! and B with a reduction between them, global average pooling, dense Z), in the spirit of the
//! authors' shrunken network. Scaled residuals (0.17 and 0.10) follow Inception-ResNet-v1.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

use super::{conv, Costs, SharedTrunk};
use burn::tensor::activation::relu;

fn conv(c_in: usize, c_out: usize, k: usize, stride: usize, device: &Device) -> Conv2d {
    let p = k / 2;
    Conv2dConfig::new([c_in, c_out], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .init(device)
}

/// Inception-ResNet block: three branches (1×1; 1×1→3×3; 1×1→3×3→3×3) concatenated, projected
/// back by a 1×1 conv and added to the input with a residual scale.
#[derive(Module, Debug)]
pub struct ResBlock {
    b0: Conv2d,
    b1a: Conv2d,
    b1b: Conv2d,
    b2a: Conv2d,
    b2b: Conv2d,
    b2c: Conv2d,
    project: Conv2d,
    scale: f32,
}

impl ResBlock {
    fn new(channels: usize, width: usize, scale: f32, device: &Device) -> Self {
        Self {
            b0: conv(channels, width, 1, 1, device),
            b1a: conv(channels, width, 1, 1, device),
            b1b: conv(width, width, 3, 1, device),
            b2a: conv(channels, width, 1, 1, device),
            b2b: conv(width, width, 3, 1, device),
            b2c: conv(width, width, 3, 1, device),
            project: conv(3 * width, channels, 1, 1, device),
            scale,
        }
    }

    /// The block's convolutions on a `side` map (every one keeps the size).
    fn costs(&self, side: [usize; 2], costs: &mut Costs) {
        for conv in [
            &self.b0,
            &self.b1a,
            &self.b1b,
            &self.b2a,
            &self.b2b,
            &self.b2c,
            &self.project,
        ] {
            costs.conv(conv, side);
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b0 = conv::forward_relu(&self.b0, x.clone());
        let b1 = conv::forward_relu(&self.b1b, conv::forward_relu(&self.b1a, x.clone()));
        let b2 = conv::forward_relu(&self.b2a, x.clone());
        let b2 = conv::forward_relu(&self.b2c, conv::forward_relu(&self.b2b, b2));
        let mixed = Tensor::cat(vec![b0, b1, b2], 1); // [b, 3·width, h, w]
        relu(x + conv::forward(&self.project, mixed).mul_scalar(self.scale))
    }
}

/// Stem → 2 × block A (64 ch) → reduction → 2 × block B (128 ch) → global pool → dense Z.
#[derive(Module, Debug)]
pub struct PaperTrunk {
    stem1: Conv2d,
    stem2: Conv2d,
    stem3: Conv2d,
    pool: MaxPool2d,
    block_a: Vec<ResBlock>,
    reduce: Conv2d,
    block_b: Vec<ResBlock>,
    global: AdaptiveAvgPool2d,
    dense: Linear,
}

impl PaperTrunk {
    /// A trunk giving `z_dim` features for any input of at least 32 pixels.
    pub fn new(z_dim: usize, device: &Device) -> Self {
        Self {
            stem1: conv(1, 32, 3, 2, device),
            stem2: conv(32, 32, 3, 1, device),
            stem3: conv(32, 64, 3, 1, device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            block_a: (0..2)
                .map(|_| ResBlock::new(64, 32, 0.17, device))
                .collect(),
            reduce: conv(64, 128, 3, 2, device),
            block_b: (0..2)
                .map(|_| ResBlock::new(128, 64, 0.10, device))
                .collect(),
            global: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dense: LinearConfig::new(128, z_dim).init(device),
        }
    }
}

impl SharedTrunk for PaperTrunk {
    /// `[batch, 1, s, s]` → `[batch, 128]`: everything before the last shared layer.
    fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let x = conv::forward_relu(&self.stem1, x); // [b, 32, s/2, s/2]
        let x = conv::forward_relu(&self.stem2, x);
        let x = conv::forward_relu_pool(&self.stem3, &self.pool, x); // [b, 64, s/4, s/4]
        let x = self.block_a.iter().fold(x, |x, block| block.forward(x));
        let x = conv::forward_relu(&self.reduce, x); // [b, 128, s/8, s/8]
        let x = self.block_b.iter().fold(x, |x, block| block.forward(x));
        let [b, c, _, _] = x.dims();
        self.global.forward(x).reshape([b, c]) // [b, 128]
    }

    /// The convolutions' costs for one `image_size` image.
    fn costs(&self, image_size: usize, costs: &mut Costs) {
        let side = costs.conv(&self.stem1, [image_size; 2]);
        let side = costs.conv(&self.stem2, side);
        let side = costs.conv(&self.stem3, side).map(|s| s / 2);
        for block in &self.block_a {
            block.costs(side, costs);
        }
        let side = costs.conv(&self.reduce, side);
        for block in &self.block_b {
            block.costs(side, costs);
        }
    }

    /// The last shared layer (features → Z, before its ReLU).
    fn last_shared(&self) -> &Linear {
        &self.dense
    }
}
