//! The backend conformance suite: every kernel of [`Backend`](crate::Backend) checked against
//! hand-computed values and against the portable `reference` kernels, on shapes that include 0, 1,
//! 7, 33 and 257 elements so that loop tails and parallel thresholds are exercised. Also the
//! gradient-check table of every differentiable op, run on the backend under test.
//!
//! A backend crate runs all of it with one line in a test file:
//!
//! ```text
//! neurite_core::conformance_suite!(neurite_backend_cpu::CpuBackend);
//! ```
//!
//! which expands to one `#[test]` per check (`conformance::matmul::hand_2x3_times_3x2`), so
//! `cargo test -p neurite-backend-cpu matmul` filters as usual.

pub mod conv;
pub mod elementwise;
pub mod gradients;
pub mod layout;
pub mod matmul;
pub mod reduce;

use crate::backend::Backend;
use crate::rng::Rng;
use crate::shape::Shape;

/// The lengths every size-sensitive kernel is checked at: empty, one, odd tails around a SIMD
/// width, and one above the parallel threshold of the CPU backends.
pub const LENGTHS: &[usize] = &[0, 1, 7, 8, 9, 31, 33, 257, 1000, 66_049];

/// Panics unless `got` and `want` agree element-wise within `atol + rtol·|want|` (NaNs must match
/// NaNs, infinities must match exactly).
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: {} values, expected {}", got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_nan() {
            g.is_nan()
        } else if w.is_infinite() {
            g == w
        } else {
            (g - w).abs() <= atol + rtol * w.abs()
        };
        assert!(ok, "{what}: element {i} is {g}, expected {w} (atol {atol}, rtol {rtol})");
    }
}

/// Seeded values in [−2, 2).
pub fn random(n: usize, seed: u64) -> Vec<f32> {
    Rng::seed(seed).uniform_vec(n, -2.0, 2.0)
}

/// `B` storage from values.
pub fn store<B: Backend>(values: &[f32]) -> B::Storage {
    B::from_vec(values.to_vec())
}

/// Values out of `B` storage.
pub fn values<B: Backend>(s: &B::Storage) -> Vec<f32> {
    B::to_vec(s)
}

/// Shorthand for a shape.
pub fn shape(dims: &[usize]) -> Shape {
    Shape::new(dims)
}

/// Runs the whole conformance suite for a backend: one `#[test]` per check. Pass the backend's
/// full path (`my_crate::MyBackend`), and optionally `setup = expr` to run before each check (for
/// example to force a kernel set).
#[macro_export]
macro_rules! conformance_suite {
    ($backend:ty) => {
        $crate::conformance_suite!($backend, setup = ());
    };
    ($backend:ty, setup = $setup:expr) => {
        $crate::__conformance_tests! { $backend; $setup;
            elementwise {
                unary_hand_values, unary_matches_reference_at_every_length,
                binary_hand_values, binary_broadcasting_matches_reference, comparisons_give_zero_or_one,
                where_select_broadcasts, broadcast_to_repeats_rows,
            }
            matmul {
                hand_2x3_times_3x2, transpose_flags_read_the_same_matrix, batched_and_shared_operands,
                odd_sizes_match_reference, empty_dimensions_give_empty_or_zero,
            }
            reduce {
                axis_reductions_by_hand, argmax_takes_the_first_of_ties, long_sums_are_exact_on_ones,
                reductions_match_reference, softmax_by_hand, softmax_is_stable_for_large_inputs,
            }
            layout {
                permute_by_hand, slice_and_pad_are_adjoint, concat_along_each_axis, flip_by_hand,
                index_select_and_index_add, gather_and_scatter_add, one_hot_rows, layout_matches_reference,
            }
            conv {
                im2col_by_hand, conv2d_by_hand, conv2d_matches_direct_loops, conv2d_gradients_match_reference,
                max_pool_by_hand, avg_pool_by_hand, pooling_matches_reference, batch_norm_by_hand,
                batch_norm_matches_formula, add_act_matches_add_then_act,
            }
            gradients {
                every_differentiable_op_passes_gradcheck,
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($backend:ty; $setup:expr; $($family:ident { $($test:ident),* $(,)? })*) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                mod $family {
                    #[allow(unused_imports)]
                    use super::*;
                    $(
                        #[test]
                        fn $test() {
                            $setup;
                            $crate::conformance::$family::$test::<$backend>();
                        }
                    )*
                }
            )*
        }
    };
}
