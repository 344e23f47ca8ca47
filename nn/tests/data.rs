//! IDX/MNIST decoding (raw and gzip; every malformed header or size rejected with its typed
//! error), the data set's splits, and the seeded batch loader.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use neurite_core::reference::ReferenceBackend as R;
use neurite_nn::data::{
    BatchLoader, DataError, Dataset, Layout, MAX_IDX_BYTES, Preprocessing, mnist_from_bytes, mnist_from_files,
    parse_idx,
};

const IMAGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist/train-5k-images-idx3-ubyte.gz");
const LABELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist/train-5k-labels-idx1-ubyte.gz");

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

/// An IDX header for unsigned bytes with these dimensions.
fn header(dims: &[u32]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out
}

/// Two 2×3 images and their labels, as IDX bytes.
fn tiny() -> (Vec<u8>, Vec<u8>) {
    let mut images = header(&[2, 2, 3]);
    images.extend([0, 51, 102, 153, 204, 255, 255, 0, 0, 0, 0, 255]);
    let mut labels = header(&[2]);
    labels.extend([7, 1]);
    (images, labels)
}

#[test]
fn raw_and_gzip_idx_decode_alike() {
    let (images, _) = tiny();
    let raw = parse_idx(&images, "images").expect("raw");
    assert_eq!(raw.dims, [2, 2, 3]);
    assert_eq!(raw.data[..6], [0, 51, 102, 153, 204, 255]);
    assert_eq!(parse_idx(&gzip(&images), "images").expect("gzip"), raw);
}

#[test]
fn malformed_headers_are_rejected() {
    let err = |bytes: &[u8]| parse_idx(bytes, "f.idx").expect_err("malformed");
    assert!(matches!(err(&[0, 0, 8]), DataError::TooShort { needed: 4, found: 3, .. }));
    assert!(matches!(err(&[0, 0, 8, 2, 0, 0, 0, 1]), DataError::TooShort { needed: 12, found: 8, .. }));
    assert!(matches!(err(b"PK\x03\x04rest"), DataError::Magic { .. }));
    assert!(matches!(err(&[0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]), DataError::ElementType { code: 0x0D, .. }));
    assert_eq!(err(&[0, 0, 9, 1]).to_string(), "f.idx: element type 0x09, expected 0x08 (unsigned byte)");
}

#[test]
fn data_that_does_not_match_the_dimensions_is_rejected() {
    let mut short = header(&[4]);
    short.extend([1, 2, 3]);
    let e = parse_idx(&short, "labels").expect_err("short");
    assert_eq!(e.to_string(), "labels: dimensions [4] need 4 data bytes, found 3");
    let mut long = header(&[2]);
    long.extend([1, 2, 3]);
    assert!(matches!(parse_idx(&long, "f"), Err(DataError::Size { expected: 2, found: 3, .. })));
    // The same through gzip.
    assert!(matches!(parse_idx(&gzip(&short), "f"), Err(DataError::Size { expected: 4, found: 3, .. })));
    assert!(matches!(parse_idx(&gzip(&long), "f"), Err(DataError::Size { .. })));
}

#[test]
fn dimensions_claiming_more_than_the_input_allow_fail_before_allocating() {
    // 4 × 10⁹ raw bytes declared by a 16-byte file.
    let raw = header(&[1000, 2000, 2000]);
    assert!(matches!(parse_idx(&raw, "f"), Err(DataError::TooLarge { limit: 16, .. })));
    // A compressed header may declare more than its input, but not more than MAX_IDX_BYTES.
    let bomb = gzip(&header(&[60_000, 100, 100]));
    let e = parse_idx(&bomb, "f").expect_err("over the cap");
    assert!(matches!(e, DataError::TooLarge { limit, .. } if limit == MAX_IDX_BYTES), "{e:?}");
    // Under the cap, a header that promises data the stream does not hold is a size error.
    assert!(matches!(parse_idx(&gzip(&header(&[1000, 28, 28])), "f"), Err(DataError::Size { found: 0, .. })));
}

#[test]
fn corrupt_gzip_is_rejected() {
    let (images, _) = tiny();
    let mut bad = gzip(&images);
    let middle = bad.len() / 2;
    bad[middle] ^= 0xFF;
    bad.truncate(bad.len() - 4);
    let e = parse_idx(&bad, "f").expect_err("corrupt");
    assert!(matches!(e, DataError::Gzip { .. } | DataError::Size { .. } | DataError::Magic { .. }), "{e:?}");
}

#[test]
fn images_and_labels_must_agree() {
    let (images, mut labels) = tiny();
    labels[7] = 3; // three labels declared
    labels.push(0);
    assert!(matches!(mnist_from_bytes(&images, &labels), Err(DataError::CountMismatch { images: 2, labels: 3 })));
    let (images, mut labels) = tiny();
    labels[9] = 10;
    let e = mnist_from_bytes(&images, &labels).expect_err("label 10");
    assert_eq!(e.to_string(), "labels: label 10 at index 1 is not in 0..10");
    let (images, labels) = tiny();
    assert!(matches!(mnist_from_bytes(&labels, &images), Err(DataError::Rank { expected: 3, found: 1, .. })));
}

#[test]
fn the_embedded_mnist_subset_decodes_from_files() {
    let data = mnist_from_files(IMAGES, LABELS).expect("decodes");
    assert_eq!((data.len(), data.rows(), data.cols(), data.classes()), (5000, 28, 28, 10));
    // The subset's first ten labels, pinned (a different file would change them).
    assert_eq!(&data.labels()[..10], &[9, 7, 5, 1, 6, 8, 5, 0, 4, 8]);
    let mut counts = [0usize; 10];
    data.labels().iter().for_each(|&l| counts[l as usize] += 1);
    assert!(counts.iter().all(|&c| (400..=600).contains(&c)), "{counts:?}");
    let missing = mnist_from_files("/nonexistent/images.gz", LABELS).expect_err("missing");
    assert!(missing.to_string().starts_with("/nonexistent/images.gz: "), "{missing}");
}

fn small_dataset() -> Dataset {
    let images: Vec<u8> = (0..10u8).flat_map(|i| [i * 20, 255 - i, 0, 128]).collect();
    Dataset::new(images, (0..10).map(|i| i % 3).collect(), 2, 2, 3).expect("valid")
}

#[test]
fn loader_scales_pixels_and_lays_out_batches() {
    let data = small_dataset();
    let mut loader = BatchLoader::new(&data, 4);
    assert_eq!(loader.num_batches(), 3);
    let batches: Vec<_> = loader.epoch::<R>().collect();
    assert_eq!(
        batches.iter().map(|b| b.inputs.dims().to_vec()).collect::<Vec<_>>(),
        [vec![4, 1, 2, 2], vec![4, 1, 2, 2], vec![2, 1, 2, 2]]
    );
    // Sample 1: pixels [20, 254, 0, 128]/255.
    let second = &batches[0].inputs.as_slice()[4..8];
    let want = [20.0 / 255.0, 254.0 / 255.0, 0.0, 128.0 / 255.0];
    assert!(second.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-7), "{second:?}");
    assert_eq!(batches[0].labels.to_vec(), [0.0, 1.0, 2.0, 0.0]);
    assert_eq!(batches[0].label_indices, [0, 1, 2, 0]);

    let standardized = Preprocessing::mnist_standardized(Layout::Flat);
    let mut flat = BatchLoader::new(&data, 4).with_preprocessing(standardized).drop_last(true);
    assert_eq!(flat.num_batches(), 2);
    let first = flat.epoch::<R>().next().expect("a batch");
    assert_eq!(first.inputs.dims(), [4, 4]);
    // (0/255 − 0.1307)/0.3081 for the first pixel.
    assert!((first.inputs.as_slice()[0] + 0.1307 / 0.3081).abs() < 1e-6);
}

#[test]
fn shuffling_is_seeded_covers_every_sample_and_changes_per_epoch() {
    let data = small_dataset();
    let order = |loader: &mut BatchLoader| -> Vec<usize> {
        loader
            .epoch::<R>()
            .flat_map(|b| {
                b.inputs.as_slice().chunks(4).map(|px| (px[0] * 255.0 / 20.0).round() as usize).collect::<Vec<_>>()
            })
            .collect()
    };
    let mut a = BatchLoader::new(&data, 3).shuffled(5);
    let mut b = BatchLoader::new(&data, 3).shuffled(5);
    let (a1, b1) = (order(&mut a), order(&mut b));
    assert_eq!(a1, b1, "same seed, same order");
    let mut sorted = a1.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>(), "each sample once per epoch");
    assert_ne!(a1, (0..10).collect::<Vec<_>>(), "shuffled");
    assert_ne!(order(&mut a), a1, "a new order each epoch");
    assert_ne!(order(&mut BatchLoader::new(&data, 3).shuffled(6)), a1, "another seed, another order");
}

#[test]
fn seeded_split_is_disjoint_complete_and_reproducible() {
    let data = mnist_from_files(IMAGES, LABELS).expect("decodes").range(0..300).expect("in range");
    let (train, valid) = data.split(100, 9).expect("split");
    assert_eq!((train.len(), valid.len()), (200, 100));
    assert_eq!(data.split(100, 9).expect("split"), (train.clone(), valid.clone()));
    assert_ne!(data.split(100, 10).expect("split").1, valid);
    // Every image of the whole appears in exactly one part (MNIST images are distinct).
    let mut all: Vec<&[u8]> = (0..200).map(|i| train.image(i)).chain((0..100).map(|i| valid.image(i))).collect();
    all.sort_unstable();
    let mut original: Vec<&[u8]> = (0..300).map(|i| data.image(i)).collect();
    original.sort_unstable();
    assert_eq!(all, original);
    assert!(matches!(data.split(301, 0), Err(DataError::Split { requested: 301, available: 300 })));
}
