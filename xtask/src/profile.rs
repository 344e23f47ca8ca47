//! `cargo xtask bench --profile`: one workload's time split by kernel. The workload runs on
//! `Profiled<B>`, which times every backend kernel; what is left of the step's wall time is spent
//! outside kernels (the graph, the optimizer's host loop, allocation). Written to
//! `target/bench/PROFILE.md`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use neurite_backend_cpu::CpuBackend;
use neurite_backend_simd::SimdBackend;
use neurite_core::Backend;
use neurite_core::profile::{self, Profiled};
use xtask::report;
use xtask::workloads::{self, Workload};

/// Steps timed after the warm-up, at least.
const MIN_STEPS: u32 = 3;
/// Time spent on timed steps, at least.
const MIN_TIME: Duration = Duration::from_secs(3);

/// Profiles each named workload on each backend (`simd` and `cpu`, or `backend` alone).
pub fn run(target: &Path, names: &[String], backend: Option<&str>) -> Result<()> {
    let mut report = String::from("# Where the time goes, kernel by kernel\n");
    let threads = crate::rayon_threads();
    let level = crate::level(SimdBackend::name());
    writeln!(report, "\n{threads} rayon thread(s); `simd` runs {level}.").ok();
    let mut found = false;
    if backend.is_none_or(|b| b == SimdBackend::name()) {
        found |= one::<SimdBackend>(names, &mut report);
    }
    if backend.is_none_or(|b| b == CpuBackend::name()) {
        found |= one::<CpuBackend>(names, &mut report);
    }
    if !found {
        bail!("no workload named {}", names.join(", "));
    }
    println!("{report}");
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("PROFILE.md");
    std::fs::write(&path, report).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("profile written to {}", path.display());
    Ok(())
}

fn one<B: Backend>(names: &[String], report: &mut String) -> bool {
    let mut found = false;
    for mut w in workloads::all::<Profiled<B>>().into_iter().filter(|w| names.contains(&w.name)) {
        found = true;
        eprintln!("profiling {} on {} …", w.name, B::name());
        table(&mut w, B::name(), report);
    }
    found
}

/// Runs `w` until warm, then times steps and prints the kernels' share of them.
fn table(w: &mut Workload, backend: &str, report: &mut String) {
    for _ in 0..2 {
        report::timed(w, 1);
    }
    profile::reset();
    let (mut steps, mut busy) = (0u32, Duration::ZERO);
    let start = Instant::now();
    while steps < MIN_STEPS || start.elapsed() < MIN_TIME {
        busy += report::timed(w, 1);
        steps += 1;
    }
    let rows = profile::take();
    let step_ms = busy.as_secs_f64() * 1e3 / f64::from(steps);
    let per_second = f64::from(steps) * w.per_iter as f64 / busy.as_secs_f64();
    writeln!(report, "\n## `{}` ({}) on `{backend}`\n", w.name, w.shape).ok();
    writeln!(report, "{step_ms:.1} ms per step ({per_second:.1} per second), mean of {steps} steps.\n").ok();
    writeln!(report, "| kernel | calls per step | ms per step | share |").ok();
    writeln!(report, "|---|---:|---:|---:|").ok();
    let mut in_kernels = 0.0;
    for r in &rows {
        let ms = r.time.as_secs_f64() * 1e3 / f64::from(steps);
        in_kernels += ms;
        let calls = r.calls as f64 / f64::from(steps);
        writeln!(report, "| {} | {calls:.0} | {ms:.2} | {:.1} % |", r.kernel, 100.0 * ms / step_ms).ok();
    }
    let outside = (step_ms - in_kernels).max(0.0);
    writeln!(report, "| *outside kernels* | | {outside:.2} | {:.1} % |", 100.0 * outside / step_ms).ok();
}
