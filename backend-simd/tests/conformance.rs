//! The backend conformance suite (every kernel, and the gradient-check table) on `SimdBackend`,
//! with whichever kernel set this CPU selects (run with `NEURITE_SIMD=scalar` for the fallback).

neurite_core::conformance_suite!(neurite_backend_simd::SimdBackend);
