//! The conformance suite again on `SimdBackend`, forced onto its scalar kernels (the fallback for
//! CPUs without AVX2), so one test run covers both kernel sets.

neurite_core::conformance_suite!(neurite_backend_simd::SimdBackend, setup = neurite_backend_simd::arch::force_scalar());
