//! The `small` trunk: four 3×3 conv blocks and one dense layer, sized for CPU studies.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

use super::{conv, Costs, SharedTrunk};

/// conv16 → pool → conv32 → pool → conv64 → pool → conv64 → flatten → dense(z_dim).
#[derive(Module, Debug)]
pub struct SmallTrunk {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    conv4: Conv2d,
    pool: MaxPool2d,
    dense: Linear,
}

fn conv(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

impl SmallTrunk {
    /// A trunk for `image_size`-pixel images (a multiple of 8) giving `z_dim` features.
    pub fn new(image_size: usize, z_dim: usize, device: &Device) -> Self {
        let side = image_size / 8;
        Self {
            conv1: conv(1, 16, device),
            conv2: conv(16, 32, device),
            conv3: conv(32, 64, device),
            conv4: conv(64, 64, device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            dense: LinearConfig::new(64 * side * side, z_dim).init(device),
        }
    }
}

impl SharedTrunk for SmallTrunk {
    /// `[batch, 1, s, s]` → `[batch, 64·(s/8)²]`: everything before the last shared layer.
    fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let x = conv::forward_relu_pool(&self.conv1, &self.pool, x); // [b, 16, s/2, s/2]
        let x = conv::forward_relu_pool(&self.conv2, &self.pool, x); // [b, 32, s/4, s/4]
        let x = conv::forward_relu_pool(&self.conv3, &self.pool, x); // [b, 64, s/8, s/8]
        let x = conv::forward_relu(&self.conv4, x); // [b, 64, s/8, s/8]
        let [b, c, h, w] = x.dims();
        x.reshape([b, c * h * w])
    }

    /// The convolutions' costs for one `image_size` image (pooling halves the side).
    fn costs(&self, image_size: usize, costs: &mut Costs) {
        let mut side = [image_size; 2];
        for (k, layer) in [&self.conv1, &self.conv2, &self.conv3, &self.conv4]
            .into_iter()
            .enumerate()
        {
            side = costs.conv(layer, side);
            if k < 3 {
                side = side.map(|s| s / 2);
            }
        }
    }

    /// The last shared layer (features → Z, before its ReLU).
    fn last_shared(&self) -> &Linear {
        &self.dense
    }
}
