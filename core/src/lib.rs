//! Neurite's core: [`Shape`] and broadcasting, the [`Backend`] trait that tensor kernels implement,
//! [`Tensor`] with reverse-mode automatic differentiation, finite-difference [`gradcheck()`], the
//! seeded [`Rng`], tensor records, and crash-safe file writes ([`fs::write_atomic`]). Backends live in their own crates (`neurite-backend-cpu`,
//! `neurite-backend-simd`); layers, optimizers and augmentation build on this crate.
//!
//! ```
//! # fn demo<B: neurite_core::Backend>() {
//! use neurite_core::Tensor;
//! // y = 2x² at x = 3, so dy/dx = 4x = 12.
//! let x = Tensor::<B>::scalar(3.0).require_grad();
//! let y = x.square().mul_scalar(2.0);
//! let grads = y.backward();
//! assert_eq!(grads.get(&x).unwrap().item(), 12.0);
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod autodiff;
pub mod backend;
mod check;
pub mod fs;
pub mod gradcheck;
pub mod isa;
mod kernel_ops;
mod kernel_specs;
pub mod ops;
pub mod profile;
pub mod record;
pub mod reference;
pub mod rng;
pub mod shape;
mod tensor;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use autodiff::Gradients;
pub use backend::{Backend, BatchNormSpec, BiasAct, BinaryOp, Conv2dSpec, MatmulSpec, Pool2dSpec, ReduceOp, UnaryOp};
pub use gradcheck::{GradcheckConfig, GradcheckReport, gradcheck};
pub use record::{RecordError, TensorRecord};
pub use rng::{Rng, RngState, Stream};
pub use shape::Shape;
pub use tensor::{NoGradGuard, Tensor, TensorId, is_grad_enabled, no_grad};

/// The conversions through which serde reads and writes a settings type as its text form
/// (`#[serde(try_from = "String", into = "String")]` on the type): `TryFrom<String>` by its
/// `FromStr` (whose error is a `String`) and `From<T> for String` by its `Display`. Settings
/// files and flags then spell a value the same way (`leaky-relu:0.1`, `cosine:0.0001`).
#[macro_export]
macro_rules! text_form_serde {
    ($ty:ty) => {
        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(text: String) -> Result<$ty, String> {
                text.parse()
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.to_string()
            }
        }
    };
}
