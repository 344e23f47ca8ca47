//! The instruction set that plain-Rust loops run with, chosen once per process. Loops that LLVM
//! vectorises get SSE2 only when built for the x86-64 baseline, so where the CPU has AVX2 the
//! same loops are also compiled inside a function with AVX2 enabled (`pulp`'s `V3::vectorize`,
//! which keeps the `unsafe` of calling it out of the callers) and chosen at run time. Rust never
//! fuses a multiply and an add on its own, so both paths compute the same operations in the same
//! order and agree to the bit; a loop that asks for fused ones where the level has them
//! ([`Isa::has_fma`]) agrees within rounding. `NEURITE_SIMD=scalar` keeps the baseline, as it sends backend-simd to its
//! scalar twins. backend-cpu's matmul and augment's filters use it.

use std::sync::OnceLock;

/// The instruction set of a loop.
#[derive(Clone, Copy, Debug)]
pub enum Isa {
    /// The x86-64 baseline (SSE2), or whatever another target guarantees.
    Baseline,
    /// AVX2 (x86-64-v3), detected at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2(pulp::x86::V3),
}

impl Isa {
    /// AVX2 when the CPU has it, unless `NEURITE_SIMD=scalar` asks for the baseline code.
    pub fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            if std::env::var("NEURITE_SIMD").is_ok_and(|v| v.eq_ignore_ascii_case("scalar")) {
                return Isa::Baseline;
            }
            #[cfg(target_arch = "x86_64")]
            if let Some(v3) = pulp::x86::V3::try_new() {
                return Isa::Avx2(v3);
            }
            Isa::Baseline
        })
    }

    /// Whether this instruction set fuses a multiply and an add in one rounding (FMA, which AVX2
    /// machines have). A loop that uses `f32::mul_add` only here stays fast on the baseline,
    /// where `mul_add` is a library call; its results then differ between levels by rounding.
    pub fn has_fma(self) -> bool {
        match self {
            Isa::Baseline => false,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(_) => true,
        }
    }

    /// Runs `f` compiled for this instruction set. `f` and what it calls must be
    /// `#[inline(always)]`, or they keep the baseline's code.
    #[inline(always)]
    pub fn run<R>(self, f: impl FnOnce() -> R) -> R {
        match self {
            Isa::Baseline => f(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(v3) => v3.vectorize(f),
        }
    }
}
