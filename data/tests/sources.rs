//! Data as users bring it: image folders of any size and colour, CIFAR binaries, IDX class names,
//! data too large for memory. Every folder here is generated, so each expected value is known.

use std::path::{Path, PathBuf};

use neurite_data::{Colour, DataConfig, Fit, Hw, ImageSet, LoadOptions, load, load_set};

fn rgb_png(path: &Path, width: u32, height: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(width, height, |x, y| image::Rgb(f(x, y))).save(path).unwrap();
}

fn grey_png(path: &Path, width: u32, height: u32, f: impl Fn(u32, u32) -> u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_fn(width, height, |x, y| image::Luma([f(x, y)])).save(path).unwrap();
}

/// Three classes of `per` distinct colour images of `size × size`.
fn colour_folder(root: &Path, per: u32, size: u32) -> PathBuf {
    for (c, class) in ["blue", "green", "red"].iter().enumerate() {
        for i in 0..per {
            rgb_png(&root.join(class).join(format!("{i:02}.png")), size, size, |x, y| {
                let mut px = [(x * 20 + i) as u8, (y * 20) as u8, 40];
                px[c] = 200 + i as u8;
                px
            });
        }
    }
    root.to_path_buf()
}

fn message(e: impl std::fmt::Display) -> String {
    e.to_string()
}

#[test]
fn a_folder_loads_at_its_own_size_and_colour() {
    let dir = tempfile::tempdir().unwrap();
    let root = colour_folder(dir.path(), 4, 5);
    let data = load(&root, &LoadOptions::training()).unwrap();
    let d = &data.dataset;
    assert_eq!((d.len(), d.channels(), d.rows(), d.cols()), (12, 3, 5, 5));
    assert_eq!(data.class_names, ["blue", "green", "red"]);
    assert_eq!(d.labels(), &[0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    // Image 1 of "green" (sample 5): planar [R, G, B], pixel (x, y) = (2, 3).
    let image = d.image(5);
    assert_eq!((image[3 * 5 + 2], image[25 + 3 * 5 + 2], image[50 + 3 * 5 + 2]), (41, 201, 40));
    assert!(data.notes.is_empty() && data.fit.is_none());
}

#[test]
fn mixed_sizes_need_a_size_and_a_policy() {
    let dir = tempfile::tempdir().unwrap();
    let root = colour_folder(dir.path(), 2, 6);
    rgb_png(&root.join("red").join("wide.png"), 12, 6, |_, _| [255, 0, 0]);
    let e = message(load(&root, &LoadOptions::training()).unwrap_err());
    assert!(e.contains("differ in size") && e.contains("12×6") && e.contains("--image-size"), "{e}");
    let sized = LoadOptions { size: Some((6, 6)), ..LoadOptions::training() };
    let e = message(load(&root, &sized).unwrap_err());
    assert!(e.contains("wide.png") && e.contains("--resize"), "{e}");
    for fit in [Fit::Stretch, Fit::Crop, Fit::Pad] {
        let data = load(&root, &LoadOptions { fit: Some(fit), ..sized.clone() }).unwrap();
        assert_eq!((data.dataset.rows(), data.dataset.cols()), (6, 6));
        assert_eq!(data.fit, Some(fit));
    }
}

/// A 4×2 image (width 4, height 2): black left half, white right half; and 2×4 all white.
fn fit_folder(root: &Path) {
    grey_png(&root.join("a").join("halves.png"), 4, 2, |x, _| if x < 2 { 0 } else { 255 });
    grey_png(&root.join("b").join("tall.png"), 2, 4, |_, _| 255);
}

#[test]
fn stretch_crop_and_pad_follow_torchvision() {
    let dir = tempfile::tempdir().unwrap();
    fit_folder(dir.path());
    let read = |fit| {
        let options = LoadOptions { size: Some((2, 2)), fit: Some(fit), ..LoadOptions::training() };
        let d = load(dir.path(), &options).unwrap().dataset;
        (d.image(0).to_vec(), d.image(1).to_vec())
    };
    // Crop: the 4×2 image already covers 2×2 at scale 1 → its centre columns 1 and 2.
    // The tall one is scaled by 1 too → rows 1 and 2, all white.
    assert_eq!(read(Fit::Crop), (vec![0, 255, 0, 255], vec![255; 4]));
    // Pad: halves is scaled by ½ to 2×1 and centred on a 2×2 black canvas at row 0
    // (⌊(2 − 1)/2⌋); tall to 1×2 at column 0. Shrinking widens the bilinear filter by the scale
    // (antialiasing): 36 and 219 are what PIL's `resize((2, 1), BILINEAR)` gives for it.
    assert_eq!(read(Fit::Pad), (vec![36, 219, 0, 0], vec![255, 0, 255, 0]));
    // Stretch: halves to 2×2, the same filter across; tall stays white.
    assert_eq!(read(Fit::Stretch), (vec![36, 219, 36, 219], vec![255; 4]));
}

#[test]
fn grey_and_colour_mixed_are_read_as_colour_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let root = colour_folder(dir.path(), 2, 4);
    grey_png(&root.join("blue").join("grey.png"), 4, 4, |x, _| (x * 50) as u8);
    let data = load(&root, &LoadOptions::training()).unwrap();
    assert_eq!(data.dataset.channels(), 3);
    assert!(data.notes.iter().any(|n| n.contains("1 of 7 images are grey, read as RGB")), "{:?}", data.notes);
    // The grey image's three planes are equal.
    let grey = data.dataset.image(2);
    assert_eq!(&grey[0..16], &grey[16..32]);
    assert_eq!(grey[3], 150);
    // Asked for grey, the colour ones are converted instead, also with a note.
    let data = load(&root, &LoadOptions { colour: Colour::Grey, ..LoadOptions::training() }).unwrap();
    assert_eq!(data.dataset.channels(), 1);
    assert!(data.notes.iter().any(|n| n.contains("6 of 7 images are colour, read as grey")), "{:?}", data.notes);
}

#[test]
fn bad_files_and_empty_classes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = colour_folder(dir.path(), 3, 4);
    std::fs::write(root.join("green").join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let e = message(load(&root, &LoadOptions::training()).unwrap_err());
    assert!(e.contains("broken.png") && e.contains("--skip-bad"), "{e}");
    let data = load(&root, &LoadOptions { skip_bad: true, ..LoadOptions::training() }).unwrap();
    assert_eq!(data.dataset.len(), 9);
    assert!(data.notes.iter().any(|n| n.starts_with("skipped 1 unreadable image") && n.contains("broken.png")));
    std::fs::create_dir(root.join("empty")).unwrap();
    let e = message(load(&root, &LoadOptions::training()).unwrap_err());
    assert!(e.contains("empty") && e.contains("holds no .png or .jpg image"), "{e}");
}

#[test]
fn a_header_announcing_a_huge_image_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let root = colour_folder(dir.path(), 1, 4);
    // A PNG header claiming 65535 × 65535 pixels, in a 45-byte file.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&65535u32.to_be_bytes());
    png.extend_from_slice(&65535u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0]);
    let crc = crc32(&png[12..]);
    png.extend_from_slice(&crc.to_be_bytes());
    // An empty IDAT chunk: the header is complete, the pixels are missing.
    png.extend_from_slice(b"\0\0\0\0IDAT");
    png.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
    std::fs::write(root.join("red").join("bomb.png"), &png).unwrap();
    let e = message(load(&root, &LoadOptions::training()).unwrap_err());
    assert!(e.contains("bomb.png") && e.contains("65535"), "{e}");
}

/// CRC-32 (IEEE), for a PNG chunk.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn data_on_disk_reads_and_splits_as_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let root = colour_folder(dir.path(), 5, 6);
    let memory = load_set(&root, &LoadOptions::training()).unwrap();
    let disk = load_set(&root, &LoadOptions { memory: 100, ..LoadOptions::training() }).unwrap();
    assert!(!memory.images.streams() && disk.images.streams());
    assert!(disk.notes.iter().any(|n| n.contains("read from disk")), "{:?}", disk.notes);
    let (a, b) = (memory.images.split(4, 9).unwrap(), disk.images.split(4, 9).unwrap());
    for (m, d) in [(&a.0, &b.0), (&a.1, &b.1)] {
        let all: Vec<usize> = (0..m.len()).collect();
        assert_eq!(m.labels(), d.labels());
        assert_eq!(m.pixels(&all).unwrap(), d.pixels(&all).unwrap());
    }
    let layout = neurite_nn::data::Layout::Nchw;
    assert_eq!(a.0.standardized(layout).unwrap(), b.0.standardized(layout).unwrap());
    // `load` wants memory: it says the data does not fit.
    let e = message(load(&root, &LoadOptions { memory: 100, ..LoadOptions::training() }).unwrap_err());
    assert!(e.contains("do not fit"), "{e}");
}

#[test]
fn the_run_config_reads_folders_as_it_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let root = colour_folder(dir.path(), 5, 6);
    let config = DataConfig { train_data: Some(root.clone()), val_split: 0.2, ..DataConfig::default() };
    let run = config.load_within(3, u64::MAX).unwrap();
    assert_eq!((run.input.channels, run.input.height, run.input.width), (3, 6, 6));
    assert_eq!((run.train.len(), run.validation.as_ref().map(ImageSet::len)), (12, Some(3)));
    assert!(!run.light_background);
    let streamed = DataConfig { stream: true, ..config.clone() }.load_within(3, u64::MAX).unwrap();
    assert!(streamed.train.streams());
    assert_eq!(streamed.train.labels(), run.train.labels());
    let resized = DataConfig { image_size: Some("4x5".parse::<Hw>().unwrap()), resize: Some(Fit::Pad), ..config };
    let run = resized.load_within(3, u64::MAX).unwrap();
    assert_eq!((run.input.height, run.input.width, run.fit), (4, 5, Some(Fit::Pad)));
    assert!("0x4".parse::<Hw>().is_err() && "32".parse::<Hw>().is_err());
    let both = DataConfig { grey: true, rgb: true, ..DataConfig::default() };
    assert!(both.check().unwrap_err().contains("grey and rgb"));
}

/// One CIFAR record: labels, then a constant image per channel.
fn record(labels: &[u8], rgb: [u8; 3]) -> Vec<u8> {
    let mut r = labels.to_vec();
    for v in rgb {
        r.extend(std::iter::repeat_n(v, 1024));
    }
    r
}

#[test]
fn cifar_binaries_read_with_their_class_names() {
    let dir = tempfile::tempdir().unwrap();
    let ten = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&ten).unwrap();
    let batch: Vec<u8> = [record(&[3], [1, 2, 3]), record(&[9], [4, 5, 6])].concat();
    std::fs::write(ten.join("data_batch_1.bin"), &batch).unwrap();
    std::fs::write(ten.join("data_batch_2.bin"), record(&[0], [7, 8, 9])).unwrap();
    std::fs::write(ten.join("test_batch.bin"), record(&[5], [0, 0, 0])).unwrap();
    let train = load(&ten, &LoadOptions::training()).unwrap();
    let d = &train.dataset;
    assert_eq!((d.len(), d.channels(), d.rows(), d.cols()), (3, 3, 32, 32));
    assert_eq!(d.labels(), &[3, 9, 0]);
    assert_eq!(train.class_names[3], "cat");
    assert_eq!((d.image(1)[0], d.image(1)[1024], d.image(1)[2048]), (4, 5, 6));
    let test = load(&ten, &LoadOptions { role: neurite_data::Role::Test, ..LoadOptions::training() }).unwrap();
    assert_eq!(test.dataset.labels(), &[5]);
    // A names file beside the batches names the classes.
    let names: String = (0..10).map(|i| format!("class{i}\n")).collect();
    std::fs::write(ten.join("batches.meta.txt"), names).unwrap();
    assert_eq!(load(&ten, &LoadOptions::training()).unwrap().class_names[9], "class9");
    // For a model whose classes are the same names in another order, labels follow the names.
    let reversed: Vec<String> = (0..10).rev().map(|i| format!("class{i}")).collect();
    let for_model = LoadOptions {
        role: neurite_data::Role::Train,
        ..LoadOptions::for_model(neurite_augment::ImageSize::new(3, 32, 32), &reversed, None)
    };
    let relabelled = load(&ten, &for_model).unwrap();
    assert_eq!((relabelled.dataset.labels(), relabelled.class_names[0].as_str()), (&[6u8, 0, 9][..], "class9"));
    // A truncated file.
    std::fs::write(ten.join("data_batch_2.bin"), &record(&[0], [7, 8, 9])[..3000]).unwrap();
    let e = message(load(&ten, &LoadOptions::training()).unwrap_err());
    assert!(e.contains("data_batch_2.bin") && e.contains("3073-byte"), "{e}");

    let hundred = dir.path().join("cifar-100-binary");
    std::fs::create_dir(&hundred).unwrap();
    std::fs::write(hundred.join("train.bin"), [record(&[4, 77], [1, 1, 1]), record(&[19, 99], [2, 2, 2])].concat())
        .unwrap();
    let fine = load(&hundred, &LoadOptions::training()).unwrap();
    assert_eq!((fine.dataset.labels(), fine.class_names.len()), (&[77u8, 99][..], 100));
    let coarse = LoadOptions { cifar_labels: neurite_data::Cifar100Labels::Coarse, ..LoadOptions::training() };
    let coarse = load(&hundred.join("train.bin"), &coarse).unwrap();
    assert_eq!((coarse.dataset.labels(), coarse.class_names.len()), (&[4u8, 19][..], 20));
}

#[test]
fn idx_classes_are_named_by_a_file_beside_them() {
    let dir = tempfile::tempdir().unwrap();
    let idx = |dims: &[u32], data: &[u8]| {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        dims.iter().for_each(|d| b.extend_from_slice(&d.to_be_bytes()));
        b.extend_from_slice(data);
        b
    };
    std::fs::write(dir.path().join("train-images-idx3-ubyte"), idx(&[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7])).unwrap();
    std::fs::write(dir.path().join("train-labels-idx1-ubyte"), idx(&[2], &[1, 0])).unwrap();
    assert_eq!(load(dir.path(), &LoadOptions::training()).unwrap().class_names[..2], ["0", "1"]);
    std::fs::write(dir.path().join("classes.txt"), "cat\ndog\n").unwrap();
    assert_eq!(load(dir.path(), &LoadOptions::training()).unwrap().class_names, ["cat", "dog"]);
}

#[test]
fn fashion_mnist_reads_with_its_class_names() {
    let dir = Path::new("/usr/share/datasets/fashion-mnist");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent (apt-get install dataset-fashion-mnist)", dir.display());
        return;
    }
    let data = load(dir, &LoadOptions { role: neurite_data::Role::Test, ..LoadOptions::training() }).unwrap();
    assert_eq!(data.dataset.len(), 10_000);
    assert_eq!(data.class_names[9], "Ankle boot");
}
