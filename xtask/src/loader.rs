//! `cargo xtask bench --loader`: the input pipeline of a CIFAR-10 training run — JPEG decode,
//! random crop (pad 4), horizontal flip, per-channel normalisation, batches of 128 — in images
//! per second, Neurite's (`neurite_train::prepare_batches` on an image folder read from disk)
//! against torchvision's `DataLoader` doing the same to the same files, with 1 and 2 workers.
//! Neurite with W workers runs in a process whose rayon pool has W threads, so each side uses W
//! cores. The
//! torchvision side runs `xtask/peers/loader.py` in a virtual environment under `target/` with
//! torch and torchvision (made the first time; skipped with a reason where pip cannot get them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use neurite_augment::spec::parse_pipeline;
use neurite_data::{ImageSet, LoadOptions, load_set};
use neurite_nn::data::{Layout, Preprocessing};

/// Images read per measurement.
const IMAGES: usize = 10_000;
/// Images per batch.
const BATCH: usize = 128;
/// The worker counts measured.
const WORKERS: [usize; 2] = [1, 2];

/// The CIFAR-10 JPEG training folder: `target/cifar10/train`, extracted from the shared archive
/// the first time.
fn cifar_folder(target: &Path) -> Result<PathBuf> {
    let folder = target.join("cifar10").join("train");
    if folder.is_dir() {
        return Ok(folder);
    }
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/cifar10/cifar10-train-jpeg.tar.gz");
    if !archive.is_file() {
        bail!("no CIFAR-10 images: {} is absent, and so is {}", folder.display(), archive.display());
    }
    let into = target.join("cifar10");
    std::fs::create_dir_all(&into)?;
    eprintln!("extracting {} into {} (once)", archive.display(), into.display());
    let ok = Command::new("tar").arg("xzf").arg(&archive).arg("-C").arg(&into).status()?.success();
    if !ok {
        bail!("could not extract {}", archive.display());
    }
    Ok(folder)
}

/// Every (len / IMAGES)-th image of the folder, as the peer script takes them.
fn subset(all: &ImageSet) -> ImageSet {
    let ImageSet::Files(files) = all else { unreachable!("read from disk") };
    let step = (files.len() / IMAGES).max(1);
    let picked: Vec<usize> = (0..files.len()).step_by(step).take(IMAGES).collect();
    ImageSet::Files(files.subset(&picked))
}

/// Neurite's images per second with `workers` workers on as many threads.
fn neurite_rate(images: &ImageSet, workers: usize) -> Result<f64> {
    let pipeline = parse_pipeline("crop:pad=4,flip").map_err(|e| anyhow::anyhow!("{e}"))?;
    let preprocessing = Preprocessing {
        mean: [0.4914, 0.4822, 0.4465],
        std: [0.2470, 0.2435, 0.2616],
        ..Preprocessing::unit(Layout::Nchw)
    };
    let order = neurite_core::Rng::seed(3).permutation(images.len());
    let batches: Vec<&[usize]> = order.chunks(BATCH).collect();
    let mut best = 0.0f64;
    for round in 0..2u64 {
        let started = Instant::now();
        let mut seen = 0usize;
        let mut failed = None;
        neurite_train::prepare_batches(images, &batches, &preprocessing, Some(&pipeline), round, workers, |i, b| {
            match b {
                Ok(b) => seen += b.values.len() / (3 * 32 * 32),
                Err(e) => failed = Some(format!("batch {i}: {e}")),
            }
            failed.is_none()
        });
        if let Some(e) = failed {
            bail!("{e}");
        }
        best = best.max(seen as f64 / started.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// The Python of a virtual environment with torch and torchvision, made if missing.
pub(crate) fn python(target: &Path) -> Result<PathBuf> {
    let venv = target.join("torch-venv");
    let python = venv.join("bin").join("python3");
    let ready = |p: &Path| {
        Command::new(p)
            .args(["-c", "import torch, torchvision, safetensors"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python.exists() && ready(&python) {
        return Ok(python);
    }
    eprintln!("making {} with torch and torchvision (once; a large download)", venv.display());
    if !Command::new("python3").args(["-m", "venv"]).arg(&venv).status()?.success() {
        bail!("python3 -m venv {} failed; install python3-venv", venv.display());
    }
    let pip = venv.join("bin").join("pip");
    let installed = Command::new(&pip).args(["install", "-q", "torch", "torchvision", "safetensors"]).status()?;
    if !installed.success() || !ready(&python) {
        bail!("could not install torch and torchvision into {}", venv.display());
    }
    Ok(python)
}

/// Neurite's side alone, with `workers` workers (run with `RAYON_NUM_THREADS` set): prints the
/// images per second.
pub fn measure(target: &Path, workers: usize) -> Result<()> {
    let folder = cifar_folder(target)?;
    let options = LoadOptions { memory: 0, ..LoadOptions::training() };
    let all = load_set(&folder, &options).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", neurite_rate(&subset(&all.images), workers)?);
    Ok(())
}

/// Runs both sides and prints (and writes to `target/bench/LOADER.md`) the table.
pub fn run(target: &Path) -> Result<()> {
    let folder = cifar_folder(target)?;
    let options = LoadOptions { memory: 0, ..LoadOptions::training() };
    let all = load_set(&folder, &options).map_err(|e| anyhow::anyhow!("{e}"))?;
    let images = subset(&all.images);
    // Each count in a process of its own whose rayon pool has as many threads, so that the
    // workers and the decoding they fan out use W cores, as W worker processes do.
    let mut ours = Vec::new();
    for workers in WORKERS {
        let out = Command::new(std::env::current_exe()?)
            .args(["bench", "--loader-workers", &workers.to_string()])
            .env("RAYON_NUM_THREADS", workers.to_string())
            .output()
            .context("running the loader measurement")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(rate) = text.trim().parse::<f64>().ok().filter(|_| out.status.success()) else {
            bail!("the loader measurement failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        };
        eprintln!("neurite, {workers} worker(s) on {workers} thread(s): {rate:.0} images/s");
        ours.push(rate);
    }
    let peers: Vec<Option<f64>> = match python(target) {
        Ok(python) => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers").join("loader.py");
            let counts = WORKERS.map(|w| w.to_string()).join(",");
            let out = Command::new(&python)
                .arg(&script)
                .arg(&folder)
                .arg(images.len().to_string())
                .arg(counts)
                .output()
                .context("running loader.py")?;
            if !out.status.success() {
                bail!("loader.py failed: {}", String::from_utf8_lossy(&out.stderr).trim());
            }
            let text = String::from_utf8_lossy(&out.stdout);
            WORKERS
                .iter()
                .map(|w| {
                    text.lines()
                        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                        .find(|v| v["workers"].as_u64() == Some(*w as u64))
                        .and_then(|v| v["images_per_s"].as_f64())
                })
                .collect()
        }
        Err(e) => {
            eprintln!("torchvision skipped: {e:#}");
            vec![None; WORKERS.len()]
        }
    };
    let mut table = String::from(
        "| workers | Neurite images/s | torchvision images/s | Neurite / torchvision |\n|---|---|---|---|\n",
    );
    for ((w, n), p) in WORKERS.iter().zip(&ours).zip(&peers) {
        let (peer, ratio) = match p {
            Some(p) => (format!("{p:.0}"), format!("{:.2}×", n / p)),
            None => ("—".into(), "—".into()),
        };
        table.push_str(&format!("| {w} | {n:.0} | {peer} | {ratio} |\n"));
    }
    println!("{table}");
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir)?;
    let body = format!(
        "# Input pipeline: CIFAR-10 JPEG decode + crop (pad 4) + flip + normalise, batches of {BATCH}\n\n\
         {} images of {}; Neurite with W workers on W rayon threads, torchvision's DataLoader with \
         num_workers = W (torch threads 1); the better of two passes each.\n\n{table}",
        images.len(),
        folder.display()
    );
    std::fs::write(dir.join("LOADER.md"), body)?;
    eprintln!("written to {}", dir.join("LOADER.md").display());
    Ok(())
}
