//! The one place that names a backend. With both features compiled in (the default), a run picks
//! one with `--backend cpu|simd`; `dispatch!` instantiates the generic code for each, and
//! `register_layers` makes the custom layers this binary links buildable on each.

/// The backends a binary may have (`--backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// `neurite-backend-simd`: matrixmultiply sgemm and AVX2 kernels.
    Simd,
    /// `neurite-backend-cpu`: portable rayon kernels.
    Cpu,
}

impl BackendKind {
    /// The default: simd when compiled in, else cpu.
    pub fn default_kind() -> BackendKind {
        if cfg!(feature = "simd") { BackendKind::Simd } else { BackendKind::Cpu }
    }

    /// Checks that this backend was compiled into the binary.
    ///
    /// # Errors
    /// A message saying how to build it in.
    pub fn check_compiled_in(self) -> Result<BackendKind, String> {
        let name = self.name();
        if !Self::available().contains(&name) {
            return Err(format!("backend `{name}` is not compiled in; rebuild with `--features {name}`"));
        }
        Ok(self)
    }

    /// `"simd"` or `"cpu"`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Simd => "simd",
            BackendKind::Cpu => "cpu",
        }
    }

    /// The names of the compiled-in backends.
    pub fn available() -> Vec<&'static str> {
        let mut v = Vec::new();
        if cfg!(feature = "simd") {
            v.push("simd");
        }
        if cfg!(feature = "cpu") {
            v.push("cpu");
        }
        v
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The backend for work that needs a `Backend` type but no arithmetic worth a fast one (reading a
/// checkpoint's shapes for `info`, converting it for `export`): the portable reference backend,
/// the same in every build.
pub type Host = neurite_core::reference::ReferenceBackend;

/// Makes the layers of other crates that this binary links loadable from checkpoints on every
/// backend it has (see `neurite_nn::registry`): the Swish layer of `examples/custom-layer`.
pub fn register_layers() {
    #[cfg(feature = "swish")]
    {
        use neurite_example_custom_layer::register;
        register::<Host>();
        #[cfg(feature = "simd")]
        register::<neurite_backend_simd::SimdBackend>();
        #[cfg(feature = "cpu")]
        register::<neurite_backend_cpu::CpuBackend>();
    }
}

/// Runs a generic function on the chosen backend: `dispatch!(kind, run::<_>(args))` expands to a
/// match that calls `run::<SimdBackend>` or `run::<CpuBackend>`.
macro_rules! dispatch {
    ($kind:expr, $f:ident :: <_> ( $($arg:expr),* $(,)? )) => {
        match $kind {
            #[cfg(feature = "simd")]
            $crate::backend::BackendKind::Simd => $f::<neurite_backend_simd::SimdBackend>($($arg),*),
            #[cfg(feature = "cpu")]
            $crate::backend::BackendKind::Cpu => $f::<neurite_backend_cpu::CpuBackend>($($arg),*),
            #[allow(unreachable_patterns)]
            other => unreachable!("backend {other:?} is not compiled in"),
        }
    };
}

pub(crate) use dispatch;

#[cfg(not(any(feature = "cpu", feature = "simd")))]
compile_error!("neurite-cli needs a backend: enable the `cpu` or `simd` feature");
