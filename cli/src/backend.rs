//! The one place that names a backend: `Selected` is `SimdBackend` with the `simd` feature, else
//! `CpuBackend` with the `cpu` feature.

#[cfg(feature = "simd")]
pub type Selected = neurite_backend_simd::SimdBackend;

#[cfg(all(feature = "cpu", not(feature = "simd")))]
pub type Selected = neurite_backend_cpu::CpuBackend;

#[cfg(not(any(feature = "cpu", feature = "simd")))]
compile_error!("neurite-cli needs a backend: enable the `cpu` or `simd` feature");
