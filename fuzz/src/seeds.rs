//! Writes the seed corpora of the fuzz targets into `fuzz/seeds/TARGET/`: small valid inputs made
//! with the project's own writers (checkpoints, safetensors exports, IDX files raw and gzip, PNG and
//! JPEG images, recipes and CSV data sets), each a few hundred bytes to a few KB. The files are
//! committed; rerun after a format change, from `fuzz/`:
//! `cargo fuzz run --sanitizer none seeds` (`cargo xtask fuzz` does it when `seeds/` is missing).
//!
//! It is built as a fuzz target so that it reuses the instrumented build of the real targets
//! instead of compiling the whole workspace once more: the generator runs in libFuzzer's `init`
//! hook and exits before any fuzzing starts.
#![no_main]

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use neurite_augment::ImageSize;
use neurite_augment::io::encode_png;
use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Stream};
use neurite_nn::data::{Layout, Preprocessing};
use neurite_nn::interchange::to_safetensors_bytes;
use neurite_nn::models::ModelKind;
use neurite_nn::{
    Activation, BatchNormConfig, Checkpoint, Conv2dConfig, Dropout, Flatten, Init, LinearConfig, MaxPool2d, Sequential,
};
use neurite_optim::OptimizerKind;
use neurite_train::{BatchSize, TrainConfig};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds").join(target);
    std::fs::create_dir_all(&dir).expect("seed folder");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("seed written");
    println!("{:>6} bytes  {}", bytes.len(), path.display());
}

fn mlp(seed: u64) -> Sequential<R> {
    let mut rng = Rng::stream(seed, Stream::Init);
    Sequential::new()
        .with(Flatten)
        .with(LinearConfig::new(4, 3).init::<R>(&mut rng))
        .with(BatchNormConfig::new(3).init_1d::<R>())
        .with(Activation::Relu)
        .with(Dropout::new(0.25, seed))
        .with(LinearConfig::new(3, 2).with_bias(false).init::<R>(&mut rng))
}

fn cnn(seed: u64) -> Sequential<R> {
    let mut rng = Rng::stream(seed, Stream::Init);
    Sequential::new()
        .with(Conv2dConfig::new(1, 2, (3, 3)).with_padding((1, 1)).init::<R>(&mut rng))
        .with(BatchNormConfig::new(2).init_2d::<R>())
        .with(Activation::LeakyRelu(0.1))
        .with(MaxPool2d::new((2, 2)))
        .with(Flatten)
        .with(LinearConfig::new(2 * 2 * 2, 3).init::<R>(&mut rng))
        .with(Activation::Softmax(1))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn checkpoints() {
    let plain = Checkpoint::from_module(&mlp(1));
    write("checkpoint", "mlp.ckpt", &plain.to_bytes().expect("encodes"));
    let mut full = Checkpoint::from_module(&cnn(2)).with_metadata("epoch", "3").with_metadata("rng", "{\"seed\":7}");
    full.extra.push(("adam.m.layers.0.weight".into(), full.tensors[0].1.clone()));
    write("checkpoint", "cnn-extra.ckpt", &full.to_bytes().expect("encodes"));
    let mut rng = Rng::seed(3);
    let tiny = Sequential::<R>::new().with(LinearConfig::new(2, 2).init::<R>(&mut rng));
    write("checkpoint", "linear.ckpt", &Checkpoint::from_module(&tiny).to_bytes().expect("encodes"));
}

fn safetensors() {
    let preprocessing = Preprocessing::unit(Layout::Nchw);
    write("safetensors", "mlp.safetensors", &to_safetensors_bytes(&mlp(1), &preprocessing, &[]).expect("exports"));
    write("safetensors", "cnn.safetensors", &to_safetensors_bytes(&cnn(2), &preprocessing, &[]).expect("exports"));
}

fn idx_files() {
    let pixels: Vec<u8> = (0..3 * 4 * 4).map(|i| (i * 37 % 256) as u8).collect();
    let images = idx(&[3, 4, 4], &pixels);
    let labels = idx(&[3], &[1, 7, 9]);
    write("idx", "images-raw", &images);
    write("idx", "labels-raw", &labels);
    write("idx", "images-gz", &gzip(&images));
    write("idx", "labels-gz", &gzip(&labels));
    // mnist_from_bytes sees the input split at a fraction given by its first byte.
    let pair = |first: &[u8], second: &[u8]| {
        let split = (first.len() * 255).div_ceil(first.len() + second.len());
        let mut out = vec![split as u8];
        out.extend_from_slice(first);
        out.extend_from_slice(second);
        out
    };
    write("idx", "pair-raw", &pair(&images, &labels));
    write("idx", "pair-gz", &pair(&gzip(&images), &gzip(&labels)));
}

fn recipes() {
    write("recipe", "tables-default.toml", TrainConfig::default().to_toml().as_bytes());
    let mut cnn = TrainConfig {
        batch_size: BatchSize::Full,
        epochs: 2,
        l2: 1e-4,
        augment: "flip,crop:pad=2".into(),
        early_stopping: Some(3),
        threads: Some(2),
        ..TrainConfig::default()
    };
    cnn.model.kind = ModelKind::Cnn;
    cnn.model.dropout = 0.0;
    cnn.model.batch_norm = true;
    cnn.model.init = Init::Normal { std: 0.01 };
    cnn.optimizer.kind = OptimizerKind::Sgd;
    cnn.optimizer.lr = 0.05;
    cnn.optimizer.schedule = "cosine:0.0001".parse().expect("a schedule");
    cnn.data.train_data = Some("data/mnist".into());
    write("recipe", "tables-cnn.toml", cnn.to_toml().as_bytes());
    // The flat form of earlier versions (the files `default.toml` and `cnn.toml` beside these
    // were written by them), which still reads.
    write("recipe", "short.toml", b"epochs = 3\nbatch-size = 32\nhidden = [64]\nlr = 0.01\n");
}

fn images() {
    let path = Path::new("seed.png");
    let grey: Vec<f32> = (0..16).map(|i| i as f32 / 15.0).collect();
    write("image", "grey-4x4.png", &encode_png(&grey, ImageSize::new(1, 4, 4), path).expect("encodes"));
    let rgb: Vec<f32> = (0..27).map(|i| (i % 5) as f32 / 4.0).collect();
    write("image", "rgb-3x3.png", &encode_png(&rgb, ImageSize::new(3, 3, 3), path).expect("encodes"));
    let rgba = image::RgbaImage::from_fn(5, 2, |x, y| image::Rgba([x as u8 * 50, y as u8 * 100, 7, 128]));
    let mut png = std::io::Cursor::new(Vec::new());
    rgba.write_to(&mut png, image::ImageFormat::Png).expect("encodes");
    write("image", "rgba-5x2.png", png.get_ref());
    let colour = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 90]));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    colour.write_to(&mut jpeg, image::ImageFormat::Jpeg).expect("encodes");
    write("image", "rgb-8x8.jpg", jpeg.get_ref());
    let luma = image::GrayImage::from_fn(9, 7, |x, y| image::Luma([(x * 25 + y * 3) as u8]));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    luma.write_to(&mut jpeg, image::ImageFormat::Jpeg).expect("encodes");
    write("image", "grey-9x7.jpg", jpeg.get_ref());
}

fn csv_files() {
    write("csv", "header.csv", b"label,p0,p1,p2,p3\n3,0,255,17,4\n9,1,2,3,4\n0,9,9,9,9\n");
    write("csv", "plain.csv", b"1,0,0,0,0,0,0,0,0,255\n12,1,2,3,4,5,6,7,8,9\n");
    let mut rows = String::new();
    for label in 0..4 {
        rows.push_str(&label.to_string());
        for p in 0..16 {
            rows.push_str(&format!(",{}", (label * 16 + p) * 3));
        }
        rows.push('\n');
    }
    write("csv", "four-4x4.csv", rows.as_bytes());
}

/// Pipeline specs: the typical one, and every transform with its arguments spelled out.
fn augment_specs() {
    write("augment", "typical.txt", neurite_augment::spec::TYPICAL.as_bytes());
    write(
        "augment",
        "every-op.txt",
        b"flip:0.5,vflip@0.5,translate:3,edge,crop:pad=2,fill=reflect,resized-crop:0.5,0.8,resize:8x6,nearest,\
brightness:0.1,brightness-mul:0.2,contrast:0.3,erase:0.5,random,gaussian-blur:1.5,7,median-blur:3,\
bilateral-blur:1,0.1,pca-noise:0.1,noise:0.05@0.5,salt-pepper:0.02,\
rotate:15,affine:10,0.1,10,0.1@0.5,elastic:34,4",
    );
}

/// Writes every corpus, then ends the process before libFuzzer starts fuzzing.
fn write_all_and_exit() {
    checkpoints();
    safetensors();
    idx_files();
    recipes();
    images();
    csv_files();
    augment_specs();
    std::process::exit(0);
}

libfuzzer_sys::fuzz_target!(init: write_all_and_exit(), |_data: &[u8]| {});
