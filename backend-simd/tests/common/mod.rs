//! What several test binaries run: one training step of a small ResNet.

use neurite_backend_simd::SimdBackend;
use neurite_core::{Rng, Tensor};
use neurite_nn::Module;
use neurite_nn::models::ResNetConfig;

/// The loss and every parameter's gradient after one step of a ResNet-8 (widths 4, 8, 8) on nine
/// 24×24 images: its first stage's maps are large enough for every direct-convolution path, the
/// weight gradient's included, and the batch is cut into chunks of more than one image.
pub fn resnet_step() -> Vec<Vec<f32>> {
    let net = ResNetConfig::new([3, 24, 24], 4, 8).with_widths(&[4, 8, 8]).init::<SimdBackend>(2).expect("builds");
    let x = Tensor::<SimdBackend>::randn([9, 3, 24, 24], 0.0, 1.0, &mut Rng::seed(4));
    let labels = Tensor::<SimdBackend>::from_vec((0..9).map(|i| (i % 4) as f32).collect(), [9]).one_hot(4);
    let loss = net.forward(&x).softmax_cross_entropy(&labels);
    let g = loss.backward();
    let mut out = vec![loss.to_vec()];
    out.extend(net.params().into_iter().map(|(_, p)| g.get(p).expect("a gradient").to_vec()));
    out
}
