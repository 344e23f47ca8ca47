//! `cargo xtask`: developer tasks that are not part of the build.
//!
//! - `cargo xtask bench` runs the criterion benches of every backend (`xtask/benches/backends.rs`)
//!   and prints the comparison table, also written to `target/bench/REPORT.md`.
//! - `cargo xtask bench --quick [--json]` measures the same workloads in-process in a short fixed
//!   run; `--json` prints one object per line for scripts.
//! - `cargo xtask bench --distributed` times data-parallel training under `mpirun`.
//! - `cargo xtask bench --peers` compares the training steps with PyTorch's and the augmentation
//!   ops with albumentations.
//! - `cargo xtask bench --profile` splits one training step's time by backend kernel.
//! - `cargo xtask bench --loader` compares the input pipeline with torchvision's `DataLoader`.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use neurite_backend_cpu::CpuBackend;
use neurite_backend_simd::SimdBackend;
use neurite_core::Backend;
use xtask::report::{self, Figure};
use xtask::workloads::{self, Workload};

mod distributed;
mod fuzz;
mod loader;
mod peers;
mod profile;

/// The pseudo-backend of augmentation workloads, which run on host data.
const HOST: &str = "host";

const USAGE: &str = "usage: cargo xtask bench [--quick] [--json] [--only NAME[,NAME…]]

  bench            criterion benchmarks of every backend, then a comparison table
                   (also written to target/bench/REPORT.md)
  --quick          a short fixed in-process run instead of criterion
  --json           with --quick: one JSON object per line
  --only NAMES     only these workloads (e.g. matmul,mlp_train_step)
  --backend NAME   with --quick: only this backend (cpu, simd, or host for augmentation)
  --peers          the training steps (MLP, MNIST CNN, ResNet-20) against PyTorch's, then the
                   augmentation ops against albumentations (OpenCV), in one run (makes Python
                   venvs under target/ the first time; target/bench/PEERS-TRAINING.md, PEERS.md)
  --profile        one step of each --only workload (default resnet20_train_step) split by
                   kernel, on every backend or --backend NAME (target/bench/PROFILE.md)
  --loader         the CIFAR-10 input pipeline (decode, crop, flip, normalise) with 1 and 2
                   workers against torchvision's DataLoader (makes a venv with torch under
                   target/ the first time; written to target/bench/LOADER.md)
  --distributed    data-parallel training steps at 1, 2 and 4 ranks under mpirun, split into
                   compute and communication (needs Open MPI; written to target/bench/DISTRIBUTED.md)

usage: cargo xtask fuzz [--seconds N] [--target NAME]   (see docs/fuzzing.md)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let Some((task, rest)) = args.split_first() else { bail!("no task given\n{USAGE}") };
    if task == "fuzz" {
        return fuzz::run(rest);
    }
    if task != "bench" {
        bail!("unknown task `{task}`\n{USAGE}");
    }
    let mut quick = false;
    let mut json = false;
    let mut only: Option<Vec<String>> = None;
    let mut backend: Option<String> = None;
    let mut peers = false;
    let mut profile = false;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--peers" => peers = true,
            "--profile" => profile = true,
            "--distributed" => return distributed::run(&target_dir()),
            "--loader" => return loader::run(&target_dir()),
            "--loader-workers" => {
                let workers = it.next().and_then(|w| w.parse().ok()).context("--loader-workers needs a number")?;
                return loader::measure(&target_dir(), workers);
            }
            "--json" => json = true,
            "--only" => {
                let names = it.next().context("--only needs a list of workload names")?;
                only = Some(names.split(',').map(str::to_string).collect());
            }
            "--backend" => backend = Some(it.next().context("--backend needs cpu, simd or host")?.clone()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown flag `{other}`\n{USAGE}"),
        }
    }
    if profile {
        let names = only.unwrap_or_else(|| vec!["resnet20_train_step".to_string()]);
        return profile::run(&target_dir(), &names, backend.as_deref());
    }
    if peers {
        // Training steps against PyTorch, on every backend, with as many threads as rayon has.
        let steps = |w: &Workload| peers::TRAINING.contains(&w.name.as_str());
        let figures = quick_run(&steps, false, backend.as_deref().filter(|b| *b != HOST));
        let threads = rayon_threads().parse().unwrap_or(1);
        if let Err(e) = peers::training(&target_dir(), &figures, threads) {
            eprintln!("PyTorch training steps skipped: {e:#}");
        }
        // Neurite's side: the quick run of the compared ops, on host data.
        let names: Vec<String> = peers::OPS.iter().map(|op| format!("augment_{op}")).collect();
        let keep = |w: &Workload| names.contains(&w.name);
        let figures = quick_run(&keep, false, Some(HOST));
        return peers::augmentation(&target_dir(), &figures);
    }
    if json && !quick {
        bail!("--json goes with --quick");
    }
    let keep = |w: &Workload| only.as_ref().is_none_or(|names| names.contains(&w.name));
    if let Some(b) = &backend {
        if b != "cpu" && b != "simd" && b != HOST {
            bail!("unknown backend `{b}`; backends: cpu, simd, host (augmentation)");
        }
        if !quick {
            bail!("--backend goes with --quick");
        }
    }
    let figures = if quick { quick_run(&keep, json, backend.as_deref()) } else { criterion_run(&only)? };
    if !json {
        let table = report::table(&figures);
        println!("{table}");
        let dir = target_dir().join("bench");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("REPORT.md");
        let threads = rayon_threads();
        let body = format!(
            "# Neurite backend benchmarks\n\n{} run, {threads} rayon thread(s).\n\n{table}",
            if quick { "Quick in-process" } else { "Criterion" }
        );
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}

pub(crate) fn rayon_threads() -> String {
    std::env::var("RAYON_NUM_THREADS")
        .unwrap_or_else(|_| std::thread::available_parallelism().map(|n| n.get().to_string()).unwrap_or("?".into()))
}

fn quick_one<B: Backend>(keep: &dyn Fn(&Workload) -> bool, json: bool, out: &mut Vec<Figure>) {
    for mut w in workloads::all::<B>().into_iter().filter(|w| keep(w)) {
        let per_second = report::measure(&mut w, Duration::from_millis(300), 5, Duration::from_millis(200));
        let f = Figure {
            level: level(B::name()),
            backend: B::name().into(),
            name: w.name.clone(),
            shape: w.shape.clone(),
            unit: w.unit,
            per_second,
        };
        emit(&f, json);
        out.push(f);
    }
}

/// The instruction sets a backend's kernels run with here. `simd`: its own kernels' level
/// (`avx2`, or `scalar` under `NEURITE_SIMD=scalar`) and the sgemm engines' (`gemm` dispatches
/// to AVX-512 where the CPU has it; `matrixmultiply` to AVX2 + FMA at best). `cpu` and host
/// code: the level their plain-Rust loops are compiled for at run time.
pub(crate) fn level(backend: &str) -> String {
    let loops = match neurite_core::isa::Isa::detect() {
        neurite_core::isa::Isa::Baseline => "scalar",
        #[cfg(target_arch = "x86_64")]
        neurite_core::isa::Isa::Avx2(_) => "avx2",
    };
    if backend == SimdBackend::name() {
        let own = format!("{:?}", neurite_backend_simd::arch::level()).to_lowercase();
        let mm = if neurite_backend_simd::gemm_level() == "scalar" { "scalar" } else { "avx2" };
        format!("{own}; sgemm gemm:{} matrixmultiply:{mm}", neurite_backend_simd::gemm_level())
    } else {
        loops.to_string()
    }
}

/// Prints one figure as a JSON line or a progress line.
fn emit(f: &Figure, json: bool) {
    if json {
        println!(
            "{{\"backend\": \"{}\", \"bench\": \"{}\", \"value\": {:.1}, \"unit\": \"{}\", \"level\": \"{}\"}}",
            f.backend,
            f.script_name(),
            f.value(),
            f.unit_name(),
            f.level
        );
    } else {
        eprintln!(
            "{:>6} {:<22} {:<18} {:>12.1} {:<10} [{}]",
            f.backend,
            f.script_name(),
            f.shape,
            f.value(),
            f.unit_name(),
            f.level
        );
    }
}

fn quick_run(keep: &dyn Fn(&Workload) -> bool, json: bool, backend: Option<&str>) -> Vec<Figure> {
    let mut figures = Vec::new();
    if backend.is_none_or(|b| b == HOST) {
        for mut w in workloads::augmentation().into_iter().filter(|w| keep(w)) {
            let per_second = report::measure(&mut w, Duration::from_millis(200), 5, Duration::from_millis(100));
            let f = Figure {
                backend: HOST.into(),
                name: w.name.clone(),
                shape: w.shape.clone(),
                unit: w.unit,
                per_second,
                level: level(HOST),
            };
            emit(&f, json);
            figures.push(f);
        }
    }
    if backend.is_none_or(|b| b == SimdBackend::name()) {
        quick_one::<SimdBackend>(keep, json, &mut figures);
    }
    if backend.is_none_or(|b| b == CpuBackend::name()) {
        quick_one::<CpuBackend>(keep, json, &mut figures);
    }
    figures
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target"))
}

fn criterion_run(only: &Option<Vec<String>>) -> Result<Vec<Figure>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["bench", "--package", "xtask", "--bench", "backends", "--"]);
    if let Some(names) = only {
        cmd.arg(format!("^({})/", names.join("|")));
    }
    let status = cmd.status().context("running cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed with {status}");
    }
    // Read each benchmark's median back from criterion's output.
    let root = target_dir().join("criterion");
    let mut figures = Vec::new();
    let runs = [
        (SimdBackend::name(), workloads::all::<SimdBackend>()),
        (CpuBackend::name(), workloads::all::<CpuBackend>()),
        (HOST, workloads::augmentation()),
    ];
    for (backend, list) in runs {
        for w in list {
            if only.as_ref().is_some_and(|names| !names.contains(&w.name)) {
                continue;
            }
            let path = root.join(&w.name).join(&w.shape).join(backend).join("new").join("estimates.json");
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let v: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
            let median_ns = v["median"]["point_estimate"].as_f64().context("estimates.json without a median")?;
            figures.push(Figure {
                level: level(backend),
                backend: backend.into(),
                name: w.name.clone(),
                shape: w.shape.clone(),
                unit: w.unit,
                per_second: w.per_iter as f64 / (median_ns * 1e-9),
            });
        }
    }
    if figures.is_empty() {
        bail!("no criterion results found under {}", root.display());
    }
    Ok(figures)
}
