//! Neurite's fast CPU backend: `matrixmultiply` sgemm and explicit AVX2/FMA kernels with a scalar
//! fallback.
//!
//! Until issue #3 ("backend-simd and `cargo xtask bench`") lands, `SimdBackend` is the portable
//! CPU backend under another name, so that `--features simd` builds and runs today with the same
//! numbers; issue #3 replaces its kernels.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The fast CPU backend (for now the rayon backend; see the crate docs).
pub type SimdBackend = neurite_backend_cpu::CpuBackend;
