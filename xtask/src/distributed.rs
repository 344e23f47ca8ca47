//! `cargo xtask bench --distributed`: the MLP and CNN training steps at 1, 2 and 4 ranks under
//! `mpirun`, timed by the command users run (`neurite train --distributed`), split into compute
//! and communication from the `traffic.csv` each run writes, with the bytes each rank sends per
//! step. Needs Open MPI and libclang (the `mpi` feature's build); it builds `neurite` with it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A workload: a name, `neurite train` flags, and its global batch.
struct Setup {
    name: &'static str,
    flags: &'static [&'static str],
    batch: usize,
}

const SETUPS: &[Setup] = &[
    Setup { name: "mlp 784-512-256-10", flags: &["--model", "mlp", "--hidden", "512,256"], batch: 128 },
    Setup { name: "cnn 16,32 5x5", flags: &["--model", "cnn"], batch: 64 },
];

/// Ranks measured, each with 4 shards per batch (so every count gives the same numbers).
const RANKS: &[usize] = &[1, 2, 4];
const SHARDS: &str = "4";
/// The embedded digits, every one a training sample with `--val-split 0`.
const SAMPLES: usize = 5000;

/// One measured run.
struct Row {
    workload: &'static str,
    /// 0 for the plain run (no shards, no MPI).
    ranks: usize,
    /// Whether communication overlapped the next shard's compute.
    overlap: bool,
    steps: usize,
    seconds: f64,
    communication: f64,
    bytes: u64,
}

/// Runs the benchmark and prints its table.
pub fn run(target: &Path) -> Result<()> {
    let mpirun = Command::new("mpirun").arg("--version").output();
    if !mpirun.is_ok_and(|o| o.status.success()) {
        bail!("`mpirun` was not found; install Open MPI (Debian: apt install openmpi-bin libopenmpi-dev libclang-dev)");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--locked", "-p", "neurite-cli", "--features", "mpi"])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building neurite with the mpi feature failed ({status})");
    }
    let neurite = target.join("release").join("neurite");
    let scratch = target.join("bench").join("distributed");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).with_context(|| format!("clearing {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows = Vec::new();
    for setup in SETUPS {
        let out = scratch.join(format!("{}-plain", setup.name.split(' ').next().unwrap_or("run")));
        rows.push(plain(&neurite, setup, cores, &out)?);
        for &ranks in RANKS {
            // One rank has nothing to overlap; the others run without and with.
            for overlap in if ranks == 1 { &[true][..] } else { &[false, true][..] } {
                let name = setup.name.split(' ').next().unwrap_or("run");
                let out = scratch.join(format!("{name}-{ranks}-{}", if *overlap { "overlap" } else { "serial" }));
                let row = one(&neurite, setup, ranks, *overlap, cores, &out)?;
                eprintln!(
                    "{:<20} {ranks} rank(s), overlap {overlap}: {:.1} ms/step, {:.1} ms communication",
                    setup.name,
                    row.seconds / row.steps as f64 * 1e3,
                    row.communication / row.steps as f64 * 1e3
                );
                rows.push(row);
            }
        }
    }
    let table = table(&rows, cores);
    println!("{table}");
    let path = target.join("bench").join("DISTRIBUTED.md");
    std::fs::write(&path, format!("# Data-parallel training on {cores} cores\n\n{table}"))
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("report written to {}", path.display());
    Ok(())
}

/// One epoch of the embedded digits (all [`SAMPLES`] for training: no validation split) on
/// `ranks` ranks.
fn one(neurite: &Path, setup: &Setup, ranks: usize, overlap: bool, cores: usize, out: &PathBuf) -> Result<Row> {
    let threads = (cores / ranks).max(1).to_string();
    let batch = setup.batch.to_string();
    let mut cmd = Command::new("mpirun");
    if is_root() {
        cmd.arg("--allow-run-as-root");
    }
    // No binding: each rank gets its share of the cores through --threads.
    cmd.args(["--oversubscribe", "--bind-to", "none", "--timeout", "900", "-np", &ranks.to_string()]);
    cmd.args(["-x", if overlap { "NEURITE_DP_OVERLAP=1" } else { "NEURITE_DP_OVERLAP=0" }]).arg(neurite);
    cmd.args(["train", "--distributed", "--shards", SHARDS, "--epochs", "1", "--val-split", "0", "--augment", ""]);
    cmd.args(["--dropout", "0", "--batch-size", &batch, "--threads", &threads, "--quiet", "--out"]).arg(out);
    cmd.args(setup.flags);
    let o = cmd.output().context("running mpirun")?;
    if !o.status.success() {
        bail!("{} on {ranks} ranks failed: {}", setup.name, String::from_utf8_lossy(&o.stderr).trim());
    }
    let text = std::fs::read_to_string(out.join("traffic.csv")).context("reading traffic.csv")?;
    let line = text.lines().nth(1).context("traffic.csv has no epoch")?;
    let f: Vec<&str> = line.split(',').collect();
    let parse = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).context("a malformed traffic.csv");
    Ok(Row {
        workload: setup.name,
        ranks,
        overlap,
        steps: SAMPLES.div_ceil(setup.batch),
        seconds: parse(1)?,
        communication: parse(2)?,
        bytes: parse(3)? as u64,
    })
}

/// The same epoch without shards or MPI: what sharding itself costs.
fn plain(neurite: &Path, setup: &Setup, cores: usize, out: &PathBuf) -> Result<Row> {
    let mut cmd = Command::new(neurite);
    cmd.args(["train", "--epochs", "1", "--val-split", "0", "--augment", "", "--dropout", "0", "--quiet"]);
    cmd.args(["--batch-size", &setup.batch.to_string(), "--threads", &cores.to_string(), "--out"]).arg(out);
    cmd.args(setup.flags);
    let o = cmd.output().context("running neurite")?;
    if !o.status.success() {
        bail!("{} without shards failed: {}", setup.name, String::from_utf8_lossy(&o.stderr).trim());
    }
    let text = std::fs::read_to_string(out.join("timing.csv")).context("reading timing.csv")?;
    let seconds = text.lines().nth(1).and_then(|l| l.split(',').nth(1)?.parse().ok()).context("timing.csv")?;
    Ok(Row {
        workload: setup.name,
        ranks: 0,
        overlap: false,
        steps: SAMPLES.div_ceil(setup.batch),
        seconds,
        communication: 0.0,
        bytes: 0,
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The Markdown table: time per step, split, bytes sent, and the speed-up over one rank.
fn table(rows: &[Row], cores: usize) -> String {
    let mut s = format!(
        "{cores} cores; each rank runs {SHARDS}/ranks shards with cores/ranks threads; one epoch of {SAMPLES} digits; \
         `plain` is `neurite train` without shards on all cores.\n\n\
         | workload | ranks | overlap | ms/step | compute | communication | KiB sent/step/rank | samples/s | vs 1 rank |\n\
         |---|---:|---|---:|---:|---:|---:|---:|---:|\n"
    );
    for r in rows {
        let per_step = r.seconds / r.steps as f64 * 1e3;
        let comm = r.communication / r.steps as f64 * 1e3;
        let base = rows.iter().find(|b| b.workload == r.workload && b.ranks == 1).map_or(r.seconds, |b| b.seconds);
        let ranks = if r.ranks == 0 { "plain".to_string() } else { r.ranks.to_string() };
        s.push_str(&format!(
            "| {} | {ranks} | {} | {per_step:.2} | {:.2} | {comm:.2} | {:.0} | {:.0} | {:.2}× |\n",
            r.workload,
            if r.ranks > 1 && r.overlap { "yes" } else { "no" },
            per_step - comm,
            r.bytes as f64 / 1024.0,
            SAMPLES as f64 / r.seconds,
            base / r.seconds
        ));
    }
    s
}
