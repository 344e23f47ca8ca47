//! Measuring workloads in-process (the `--quick` run) and turning figures into the comparison
//! table: each figure beside the other backend's and, for FLOP counts, as a share of the
//! machine's FP32 peak.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::workloads::{Unit, Workload};

/// One measured figure.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Backend name (`cpu`, `simd`).
    pub backend: String,
    /// Workload group (`matmul`).
    pub name: String,
    /// Workload shape (`256x256x256`).
    pub shape: String,
    /// What the workload counts.
    pub unit: Unit,
    /// Units per second.
    pub per_second: f64,
    /// The instruction sets it ran with (`avx2, sgemm gemm:avx2`), from `NEURITE_SIMD` and the CPU.
    pub level: String,
}

impl Figure {
    /// The value in the unit reports use: GFLOP/s, samples/s or Melem/s.
    pub fn value(&self) -> f64 {
        match self.unit {
            Unit::Flops => self.per_second / 1e9,
            Unit::Samples => self.per_second,
            Unit::Elements => self.per_second / 1e6,
        }
    }

    /// The unit of [`Figure::value`].
    pub fn unit_name(&self) -> &'static str {
        match self.unit {
            Unit::Flops => "GFLOP/s",
            Unit::Samples => "samples/s",
            Unit::Elements => "Melem/s",
        }
    }

    /// The short name scripts use: `sgemm_256` for the 256³ product, `augment_flip_28` for a
    /// transform on 28×28 images (`augment_flip_28_u8` on `u8` levels), else the group name.
    pub fn script_name(&self) -> String {
        if self.name == "matmul" {
            format!("sgemm_{}", self.shape.split('x').next().unwrap_or("?"))
        } else if self.name.starts_with("augment_") {
            let u8 = if self.shape.ends_with("xu8") { "_u8" } else { "" };
            format!("{}_{}{u8}", self.name, self.shape.split('x').nth(1).unwrap_or("?"))
        } else {
            self.name.clone()
        }
    }
}

/// Runs `w` for about `warm_up`, then takes the median rate of `samples` timed batches each of
/// about `per_sample` (time spent in the workload's `setup` not counted).
pub fn measure(w: &mut Workload, warm_up: Duration, samples: usize, per_sample: Duration) -> f64 {
    let start = Instant::now();
    let mut iters_done = 0u64;
    let mut busy = Duration::ZERO;
    while start.elapsed() < warm_up || iters_done < 2 {
        busy += timed(w, 1);
        iters_done += 1;
    }
    let per_iter = busy.as_secs_f64() / iters_done as f64;
    let batch = ((per_sample.as_secs_f64() / per_iter).ceil() as u64).max(1);
    let mut rates: Vec<f64> =
        (0..samples).map(|_| (batch * w.per_iter) as f64 / timed(w, batch).as_secs_f64()).collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// The time `iters` iterations of `w` take, leaving out its untimed setup if it has one.
pub fn timed(w: &mut Workload, iters: u64) -> Duration {
    match &mut w.setup {
        None => {
            let t = Instant::now();
            for _ in 0..iters {
                (w.run)();
            }
            t.elapsed()
        }
        Some(setup) => (0..iters)
            .map(|_| {
                setup();
                let t = Instant::now();
                (w.run)();
                t.elapsed()
            })
            .sum(),
    }
}

/// The machine's nominal FP32 peak in GFLOP/s: cores × 32 FLOP/cycle (two 8-wide FMA units, as on
/// Zen 3 and recent Intel cores) × the clock `/proc/cpuinfo` reports. `None` off Linux.
pub fn fp32_peak_gflops() -> Option<(f64, String)> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info.lines().find(|l| l.starts_with("cpu MHz"))?.split(':').nth(1)?.trim().parse().ok()?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let peak = cores as f64 * 32.0 * mhz / 1000.0;
    Some((peak, format!("{cores} cores × 32 FLOP/cycle × {:.2} GHz = {peak:.1} GFLOP/s", mhz / 1000.0)))
}

/// The FP32 rate this machine reaches, measured: every core runs twelve independent chains of
/// 8-wide fused multiply-adds (enough to cover the FMA units' latency), all cores at once; the
/// best of seven rounds of about 0.1 s, since a shared machine's other tenants only ever slow a
/// round down. The ceiling no kernel can pass, against which sgemm's share is given. `None` where
/// the instruction set has no FMA (then `mul_add` is a library call, and the figure would mean
/// nothing).
pub fn measured_fp32_peak_gflops() -> Option<f64> {
    use neurite_core::isa::Isa;
    let isa = Isa::detect();
    if !isa.has_fma() {
        return None;
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chains = |iters: u64| {
        isa.run(
            #[inline(always)]
            || {
                let (a, b) = (std::hint::black_box(0.999_999_9f32), std::hint::black_box(1e-9f32));
                let mut acc = [[1.0f32; 8]; 12];
                for _ in 0..iters {
                    for lanes in acc.iter_mut() {
                        for v in lanes.iter_mut() {
                            *v = v.mul_add(a, b);
                        }
                    }
                }
                std::hint::black_box(acc);
            },
        )
    };
    let flops_per_iter = 12.0 * 8.0 * 2.0;
    let iters = 1_000_000u64;
    let round = || -> f64 {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..cores)
                .map(|_| {
                    scope.spawn(move || {
                        chains(iters / 10);
                        let t = Instant::now();
                        chains(iters);
                        iters as f64 * flops_per_iter / t.elapsed().as_secs_f64() / 1e9
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).sum()
        })
    };
    Some((0..7).map(|_| round()).fold(0.0, f64::max))
}

/// The FP32 peak that shares are given against, and how it was found: measured where the
/// machine has FMA, else the nominal figure.
pub fn fp32_peak() -> Option<(f64, String)> {
    let nominal = fp32_peak_gflops();
    match measured_fp32_peak_gflops() {
        Some(p) => {
            let also = nominal.map(|(_, how)| format!("; nominal {how}")).unwrap_or_default();
            Some((p, format!("{p:.1} GFLOP/s measured (independent FMA chains on every core){also}")))
        }
        None => nominal,
    }
}

/// The comparison table in Markdown: one row per workload, one column per backend, the
/// simd/cpu ratio and, for FLOP workloads, each backend's share of the FP32 peak.
pub fn table(figures: &[Figure]) -> String {
    let peak = fp32_peak();
    let mut backends: Vec<String> = Vec::new();
    for f in figures {
        if !backends.contains(&f.backend) {
            backends.push(f.backend.clone());
        }
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    for f in figures {
        let key = (f.name.clone(), f.shape.clone());
        if !rows.contains(&key) {
            rows.push(key);
        }
    }
    let mut out = String::new();
    let _ = write!(out, "| workload | shape | unit |");
    for b in &backends {
        let _ = write!(out, " {b} |");
    }
    let _ = writeln!(out, " simd / cpu |");
    let _ = write!(out, "|---|---|---|");
    for _ in &backends {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out, "---:|");
    for (name, shape) in rows {
        let find = |b: &str| figures.iter().find(|f| f.name == name && f.shape == shape && f.backend == b);
        let Some(any) = backends.iter().find_map(|b| find(b)) else { continue };
        let _ = write!(out, "| {name} | {shape} | {} |", any.unit_name());
        for b in &backends {
            match find(b) {
                Some(f) => {
                    let share = match (&peak, f.unit) {
                        (Some((p, _)), Unit::Flops) => format!(" ({:.0} % of peak)", 100.0 * f.value() / p),
                        _ => String::new(),
                    };
                    let _ = write!(out, " {:.1}{share} |", f.value());
                }
                None => {
                    let _ = write!(out, " – |");
                }
            }
        }
        let ratio = match (find("simd"), find("cpu")) {
            (Some(s), Some(c)) if c.value() > 0.0 => format!("{:.2}×", s.value() / c.value()),
            _ => "–".into(),
        };
        let _ = writeln!(out, " {ratio} |");
    }
    let mut levels: Vec<String> = Vec::new();
    for f in figures {
        let line = format!("`{}`: {}", f.backend, f.level);
        if !levels.contains(&line) {
            levels.push(line);
        }
    }
    if !levels.is_empty() {
        let _ = writeln!(out, "\nInstruction sets: {}.", levels.join("; "));
    }
    if let Some((_, how)) = peak {
        let _ = writeln!(out, "\nFP32 peak: {how}.");
    }
    out
}
