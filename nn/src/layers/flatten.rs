//! `Flatten`: `[n, c, h, w] → [n, c·h·w]`, the bridge from convolutions to dense layers (a
//! reshape, so no copy and a free backward pass).

use neurite_core::{Backend, Tensor};

use crate::module::Module;
use crate::spec::LayerSpec;

/// Keeps the batch dimension and merges the others, like PyTorch's `nn.Flatten()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl<B: Backend> Module<B> for Flatten {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        x.flatten_batch()
    }

    fn spec(&self) -> LayerSpec {
        LayerSpec::Flatten
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        match input.split_first() {
            Some((n, rest)) => vec![*n, rest.iter().product()],
            None => vec![1, 1],
        }
    }
}
