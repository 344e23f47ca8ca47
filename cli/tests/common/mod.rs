//! Helpers shared by the CLI tests: the `neurite` binary, small data sets cut from the MNIST
//! subset in the repository (written as IDX files, CSV or image folders), PNG digits, and
//! snapshots of a folder's files to check that a failed command changed nothing.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use assert_cmd::Command;
use neurite_nn::data::{Dataset, mnist_from_files};

/// The `neurite` binary under test.
pub fn neurite() -> Command {
    Command::new(env!("CARGO_BIN_EXE_neurite"))
}

/// The 5,000 digits in `data/mnist`.
pub fn digits() -> &'static Dataset {
    static DIGITS: OnceLock<Dataset> = OnceLock::new();
    DIGITS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist");
        mnist_from_files(dir.join("train-5k-images-idx3-ubyte.gz"), dir.join("train-5k-labels-idx1-ubyte.gz"))
            .expect("the repository's MNIST subset decodes")
    })
}

/// An IDX file of u8 values with these dimensions.
pub fn idx_bytes(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Writes digits `range` as `{prefix}images-idx3-ubyte` and `{prefix}labels-idx1-ubyte` into
/// `dir` (created), and returns `dir`.
pub fn write_idx(dir: &Path, prefix: &str, range: std::ops::Range<usize>) -> PathBuf {
    std::fs::create_dir_all(dir).expect("data folder");
    let d = digits();
    let images: Vec<u8> = range.clone().flat_map(|i| d.image(i).to_vec()).collect();
    let labels: Vec<u8> = range.clone().map(|i| d.label(i)).collect();
    let n = range.len();
    std::fs::write(dir.join(format!("{prefix}images-idx3-ubyte")), idx_bytes(&[n, 28, 28], &images)).expect("images");
    std::fs::write(dir.join(format!("{prefix}labels-idx1-ubyte")), idx_bytes(&[n], &labels)).expect("labels");
    dir.to_path_buf()
}

/// Writes digit `index` as a PNG: grey, or RGB with the digit in every channel, resized to
/// `width × height` (nearest neighbour), inverted (dark on light) if asked.
pub fn write_digit_png(path: &Path, index: usize, rgb: bool, width: u32, height: u32, invert: bool) {
    let d = digits();
    let pixels = d.image(index);
    let at = |x: u32, y: u32| {
        let v = pixels[(y as usize * 28 / height as usize) * 28 + x as usize * 28 / width as usize];
        if invert { 255 - v } else { v }
    };
    if rgb {
        image::RgbImage::from_fn(width, height, |x, y| image::Rgb([at(x, y); 3])).save(path).expect("png");
    } else {
        image::GrayImage::from_fn(width, height, |x, y| image::Luma([at(x, y)])).save(path).expect("png");
    }
}

/// Trains a tiny MLP (1 epoch, 16 hidden units) on `data` into `out`, with `extra` flags.
pub fn train_tiny(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut cmd = neurite();
    cmd.arg("train").arg("--train-data").arg(data).arg("--out").arg(out);
    cmd.args(["--epochs", "1", "--hidden", "16", "--quiet"]).args(extra);
    cmd.output().expect("neurite runs")
}

/// Trains a tiny model and returns its checkpoint, failing the test if training fails.
pub fn trained_checkpoint(root: &Path) -> PathBuf {
    let data = write_idx(&root.join("train"), "train-", 0..300);
    let out = root.join("run");
    let o = train_tiny(&data, &out, &[]);
    assert!(o.status.success(), "training failed: {}", stderr(&o));
    out.join("model.ckpt")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every tensor of a checkpoint (network and optimizer), by name.
pub fn checkpoint_tensors(path: &Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let c = neurite_nn::Checkpoint::load(path).expect("checkpoint loads");
    c.tensors.iter().chain(&c.extra).map(|(n, r)| (n.clone(), r.shape.clone(), r.data.clone())).collect()
}

/// Every file under `dir` with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(snapshot(&path));
            } else {
                out.insert(path.clone(), std::fs::read(&path).expect("readable"));
            }
        }
    }
    out
}

/// Asserts that a command succeeded, showing its output if not.
pub fn assert_ok(o: &Output) {
    assert!(o.status.success(), "exit {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), stdout(o), stderr(o));
}

/// The Python with torch, torchvision and safetensors that `cargo xtask bench --loader` makes
/// (or `NEURITE_TORCH_PYTHON`), if it works.
pub fn torch_python() -> Result<PathBuf, String> {
    let python = std::env::var_os("NEURITE_TORCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/torch-venv/bin/python3"));
    let works = std::process::Command::new(&python)
        .args(["-c", "import torch, torchvision, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    if works { Ok(python) } else { Err(format!("{} has no torch, torchvision and safetensors", python.display())) }
}

/// [`torch_python`], or `None` after printing why the test that asked is skipped.
pub fn torch_or_skip() -> Option<PathBuf> {
    torch_python().map_err(|reason| eprintln!("skipped: {reason} (`cargo xtask bench --loader` makes it)")).ok()
}
