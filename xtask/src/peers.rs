//! `cargo xtask bench --peers`: Neurite's training steps against PyTorch's (the same networks,
//! batches and thread count; [`training`]), and the augmentation ops of Neurite against
//! albumentations (OpenCV),
//! the speed reference of Python augmentation libraries, in one run on the same machine. The
//! peers run `xtask/peers/augment.py` in a virtual environment under `target/` that this task
//! makes (`python3 -m venv`, then `pip install albumentations opencv-python-headless`) the first
//! time. Neurite's figures come from the quick in-process run just before, on every core, on
//! `f32` and on `u8` batches; the peers apply the same op with the same parameters to one image at
//! a time in one process, to float32 and to uint8 images. Each side's better format counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use xtask::report::Figure;

/// The ops compared (Neurite's catalogue names, as in the bench ids `augment_NAME`).
pub const OPS: &[&str] = &[
    "pipeline",
    "flip",
    "vflip",
    "crop",
    "resized_crop",
    "resize",
    "brightness",
    "contrast",
    "erase",
    "noise",
    "gaussian_blur",
    "median_blur",
    "bilateral_blur",
];

/// The Python of the peers' virtual environment, made and filled if missing.
fn python(target: &Path) -> Result<PathBuf> {
    let venv = target.join("peers-venv");
    let python = venv.join("bin").join("python3");
    let ready = |p: &Path| {
        Command::new(p).args(["-c", "import albumentations, cv2"]).output().is_ok_and(|o| o.status.success())
    };
    if python.exists() && ready(&python) {
        return Ok(python);
    }
    eprintln!("making {} with albumentations and OpenCV (once)", venv.display());
    let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().context("running python3 -m venv")?;
    if !made.success() {
        bail!("python3 -m venv {} failed; install python3-venv", venv.display());
    }
    let pip = venv.join("bin").join("pip");
    let installed = Command::new(&pip)
        .args(["install", "-q", "albumentations==2.0.8", "opencv-python-headless"])
        .status()
        .context("running pip")?;
    if !installed.success() || !ready(&python) {
        bail!("could not install albumentations into {}", venv.display());
    }
    Ok(python)
}

/// The training workloads compared with PyTorch (Neurite's workload names).
pub const TRAINING: &[&str] = &["mlp_train_step", "cnn_train_step", "resnet20_train_step"];

/// Runs PyTorch's training steps (`xtask/peers/train.py`, in the torch virtual environment of
/// `--loader`) on as many threads as Neurite's quick run used, and prints (and writes to
/// `target/bench/PEERS-TRAINING.md`) samples per second for both.
pub fn training(target: &Path, neurite: &[Figure], threads: usize) -> Result<()> {
    let python = crate::loader::python(target)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers").join("train.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(threads.to_string())
        .arg(TRAINING.join(","))
        .output()
        .context("running train.py")?;
    if !out.status.success() {
        bail!("train.py failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let mut table = String::new();
    let mut version = String::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("train.py printed `{line}`"))?;
        let (Some(name), Some(theirs), Some(format)) =
            (v["name"].as_str(), v["samples_per_s"].as_f64(), v["format"].as_str())
        else {
            bail!("train.py printed `{line}`");
        };
        version = v["torch"].as_str().unwrap_or("?").to_string();
        for f in neurite.iter().filter(|f| f.name == name) {
            table.push_str(&format!(
                "| {name} | {} | {} | {:.0} | {theirs:.0} ({format}) | {:.2}× |\n",
                f.shape,
                f.backend,
                f.value(),
                f.value() / theirs
            ));
        }
    }
    let table = format!(
        "Training steps (SGD, softmax cross-entropy, the same network and batch on both sides), {threads} \
         thread(s); PyTorch {version} CPU, convolutions in its better memory format. Samples per second.\n\n\
         | workload | shape | Neurite backend | Neurite | PyTorch | Neurite / PyTorch |\n|---|---|---|---:|---:|---:|\n{table}"
    );
    println!("{table}");
    let path = target.join("bench").join("PEERS-TRAINING.md");
    std::fs::create_dir_all(path.parent().expect("a folder")).context("creating target/bench")?;
    std::fs::write(&path, format!("# Training steps: Neurite and PyTorch\n\n{table}"))
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("report written to {}", path.display());
    Ok(())
}

/// Runs the peers and prints Neurite / albumentations per op and size.
pub fn augmentation(target: &Path, neurite: &[Figure]) -> Result<()> {
    let python = python(target)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers").join("augment.py");
    let out = Command::new(&python).arg(&script).arg(OPS.join(",")).output().context("running augment.py")?;
    if !out.status.success() {
        bail!("augment.py failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    // (op, size) → (float32, uint8) images per second.
    let mut peers: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("augment.py printed `{line}`"))?;
        let (Some(op), Some(size), Some(dtype), Some(rate)) =
            (v["op"].as_str(), v["size"].as_str(), v["dtype"].as_str(), v["images_per_s"].as_f64())
        else {
            bail!("augment.py printed `{line}`");
        };
        let entry = peers.entry((op.to_string(), size.to_string())).or_default();
        if dtype == "uint8" { entry.1 = rate } else { entry.0 = rate }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut table = format!(
        "Neurite on {threads} thread(s), batches of 256 (28×28) and 32 (224×224); albumentations 2.0.8 \
         (OpenCV) one image at a time in one process. Images per second, on float32 values and on \
         uint8 levels; the ratio takes the better of the two formats on each side.\n\n\
         | op | size | Neurite f32 | Neurite u8 | albumentations f32 | albumentations u8 | Neurite / albumentations |\n\
         |---|---|---:|---:|---:|---:|---:|\n"
    );
    for size in ["1x28x28", "3x224x224"] {
        for op in OPS {
            let ours = |u8: bool| {
                neurite
                    .iter()
                    .find(|f| {
                        f.name == format!("augment_{op}") && f.shape.starts_with(size) && f.shape.ends_with("xu8") == u8
                    })
                    .map(Figure::value)
            };
            let (Some(f32_ours), Some(&(f32s, u8s))) = (ours(false), peers.get(&(op.to_string(), size.to_string())))
            else {
                continue;
            };
            let u8_ours = ours(true);
            let best = f32_ours.max(u8_ours.unwrap_or(0.0));
            table.push_str(&format!(
                "| {op} | {size} | {f32_ours:.0} | {} | {f32s:.0} | {u8s:.0} | {:.2}× |\n",
                u8_ours.map_or("–".into(), |v| format!("{v:.0}")),
                best / f32s.max(u8s)
            ));
        }
    }
    println!("{table}");
    let path = target.join("bench").join("PEERS.md");
    std::fs::create_dir_all(path.parent().expect("a folder")).context("creating target/bench")?;
    std::fs::write(&path, format!("# Augmentation: Neurite and albumentations\n\n{table}"))
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("report written to {}", path.display());
    Ok(())
}
