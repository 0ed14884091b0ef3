//! Parameter initialisation from the job's own seed.
//!
//! burn's backends keep one global random generator, so jobs that train side by side in one
//! process would draw each other's numbers. Every float parameter is therefore redrawn here
//! from a generator derived from the job's seed, in the module's fixed visiting order: the same
//! seed gives the same network on every backend and at any `--jobs`.

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::TensorData;

use crate::rng::Rng;

struct SeededInit {
    rng: Rng,
}

impl ModuleMapper for SeededInit {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let rng = &mut self.rng;
        param.map(|old| {
            let dims = old.dims();
            let n: usize = dims.iter().product();
            // He-uniform on the fan-in: conv weights are [out, in, kh, kw], linear weights
            // [in, out]; biases start at zero.
            let fan_in = match D {
                4 => dims[1] * dims[2] * dims[3],
                2 => dims[0],
                _ => 0,
            };
            let values: Vec<f32> = if fan_in == 0 {
                vec![0.0; n]
            } else {
                let bound = (6.0 / fan_in as f64).sqrt();
                (0..n).map(|_| rng.range(-bound, bound) as f32).collect()
            };
            let fresh =
                Tensor::<D>::from_data(TensorData::new(values, dims.to_vec()), &old.device());
            if old.is_require_grad() {
                fresh.require_grad()
            } else {
                fresh
            }
        })
    }
}

/// Redraw every float parameter of `module` from `seed` (He-uniform weights, zero biases).
pub fn seeded_init<M: Module>(module: M, seed: u64) -> M {
    module.map(&mut SeededInit {
        rng: Rng::derive(seed, 0x1417),
    })
}
