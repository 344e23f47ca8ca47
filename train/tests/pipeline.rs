//! The input pipeline end to end: a colour image folder trains at its own size, and the same seed
//! gives the same checkpoint, byte for byte, whatever prepares the batches — any number of worker
//! threads, or data read from disk instead of memory.

use std::path::{Path, PathBuf};

use neurite_backend_cpu::CpuBackend as B;
use neurite_nn::Checkpoint;
use neurite_nn::models::{ModelKind, Widths};
use neurite_train::{BACKGROUND_KEY, CHECKPOINT_FILE, INPUT_KEY, TrainConfig};

/// Three classes of 12 colour images of 10×10 (a bright square on a dark ground, its colour
/// the class, its place varying).
fn colour_folder(root: &Path) -> PathBuf {
    for (c, class) in ["blue", "green", "red"].iter().enumerate() {
        let dir = root.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..12u32 {
            let (ox, oy) = (i % 4, (i / 4) * 2);
            let image = image::RgbImage::from_fn(10, 10, |x, y| {
                let inside = x >= ox && x < ox + 5 && y >= oy && y < oy + 5;
                let mut px = [20 + (x * 3) as u8, 30, 25 + i as u8];
                if inside {
                    px[c] = 230;
                }
                image::Rgb(px)
            });
            image.save(dir.join(format!("{i:02}.png"))).unwrap();
        }
    }
    root.to_path_buf()
}

fn config(data: &Path, out: &Path) -> TrainConfig {
    let mut c = TrainConfig {
        epochs: 2,
        batch_size: neurite_train::BatchSize::Samples(8),
        out: Some(out.to_path_buf()),
        augment: "crop:pad=1,flip,brightness:0.2,contrast:0.2,noise:0.02".into(),
        quiet: true,
        ..TrainConfig::default()
    };
    c.data.train_data = Some(data.to_path_buf());
    c.data.val_split = 0.25;
    c.model.kind = ModelKind::Cnn;
    c.model.filters = Widths(vec![4]);
    c.model.dense = Widths(vec![8]);
    c
}

#[test]
fn the_same_seed_gives_the_same_checkpoint_whatever_prepares_the_batches() {
    let dir = tempfile::tempdir().unwrap();
    let data = colour_folder(&dir.path().join("data"));
    let mut checkpoints = Vec::new();
    for (name, workers, stream) in [("w0", 0, false), ("w1", 1, false), ("w4", 4, false), ("disk", 3, true)] {
        let out = dir.path().join(name);
        let mut c = config(&data, &out);
        c.data.workers = workers;
        c.data.stream = stream;
        let mut run = c.init::<B>().expect("initialises");
        assert_eq!(run.data.train.streams(), stream);
        let report = run.fit(&mut ()).expect("trains");
        assert!(report.fit.train_time >= report.fit.data_wait);
        checkpoints.push((name, std::fs::read(out.join(CHECKPOINT_FILE)).unwrap()));
    }
    let (first, bytes) = &checkpoints[0];
    for (name, other) in &checkpoints[1..] {
        assert!(other == bytes, "{name} differs from {first}");
    }
    let checkpoint = Checkpoint::load(dir.path().join("w0").join(CHECKPOINT_FILE)).unwrap();
    assert_eq!(checkpoint.metadata(INPUT_KEY), Some("[3,10,10]"));
    assert_eq!(checkpoint.metadata(BACKGROUND_KEY), Some("dark"));
}

#[test]
fn a_colour_folder_trains_at_its_own_size() {
    let dir = tempfile::tempdir().unwrap();
    let data = colour_folder(&dir.path().join("data"));
    let mut c = config(&data, &dir.path().join("run"));
    c.epochs = 12;
    c.augment = "flip".into();
    c.data.val_split = 0.0;
    c.optimizer.lr = 0.01;
    let mut run = c.init::<B>().expect("initialises");
    assert_eq!((run.data.input.channels, run.data.input.height, run.data.input.width), (3, 10, 10));
    run.fit(&mut ()).expect("trains");
    // The class is the square's colour: learnt from 36 images in 12 epochs (measured 1.0).
    let last = run.learner.history().last().unwrap().train_acc.unwrap();
    assert!(last > 0.9, "training accuracy {last}");
}
