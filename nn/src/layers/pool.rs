//! Max and average pooling over 2-D windows of `[n, c, h, w]` inputs. The stride defaults to the
//! window (non-overlapping), as in PyTorch. No parameters.

use neurite_core::backend::window_positions;
use neurite_core::{Backend, Tensor};

use crate::module::Module;
use crate::spec::LayerSpec;

fn pooled_shape(
    input: &[usize],
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> Vec<usize> {
    match input {
        [n, c, h, w] => vec![
            *n,
            *c,
            window_positions(*h, kernel.0, stride.0, padding.0).unwrap_or(0),
            window_positions(*w, kernel.1, stride.1, padding.1).unwrap_or(0),
        ],
        _ => input.to_vec(),
    }
}

fn check_window(name: &str, kernel: (usize, usize)) {
    assert!(kernel.0 > 0 && kernel.1 > 0, "{name}: window {kernel:?} must be positive");
}

macro_rules! pool_layer {
    ($(#[$doc:meta])* $name:ident, $op:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            kernel: (usize, usize),
            stride: (usize, usize),
            padding: (usize, usize),
        }

        impl $name {
            /// Pooling over `kernel` windows with stride equal to the window and no padding.
            ///
            /// # Panics
            /// If a window size is zero.
            pub fn new(kernel: (usize, usize)) -> Self {
                check_window($label, kernel);
                $name { kernel, stride: kernel, padding: (0, 0) }
            }

            /// Sets the stride.
            ///
            /// # Panics
            /// If a stride is zero.
            pub fn with_stride(mut self, stride: (usize, usize)) -> Self {
                assert!(stride.0 > 0 && stride.1 > 0, concat!($label, ": stride {:?} must be positive"), stride);
                self.stride = stride;
                self
            }

            /// Sets the padding (at most half the window).
            pub fn with_padding(mut self, padding: (usize, usize)) -> Self {
                self.padding = padding;
                self
            }
        }

        impl<B: Backend> Module<B> for $name {
            /// # Panics
            /// If the input is not 4-D or the window does not fit.
            fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
                x.$op(self.kernel, self.stride, self.padding)
            }

            fn spec(&self) -> LayerSpec {
                LayerSpec::$name {
                    kernel_size: [self.kernel.0, self.kernel.1],
                    stride: [self.stride.0, self.stride.1],
                    padding: [self.padding.0, self.padding.1],
                }
            }

            fn output_shape(&self, input: &[usize]) -> Vec<usize> {
                pooled_shape(input, self.kernel, self.stride, self.padding)
            }
        }
    };
}

pool_layer!(
    /// Max pooling: each window's largest value; the gradient goes to that input alone.
    MaxPool2d,
    max_pool2d,
    "max_pool2d"
);
pool_layer!(
    /// Average pooling: each window's mean (padding counts as zeros); the gradient is shared evenly.
    AvgPool2d,
    avg_pool2d,
    "avg_pool2d"
);
