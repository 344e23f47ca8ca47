//! The backend conformance suite (every kernel, and the gradient-check table) on `CpuBackend`.

neurite_core::conformance_suite!(neurite_backend_cpu::CpuBackend);
