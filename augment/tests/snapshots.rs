//! Snapshots of every transform on a small image and of a seeded pipeline on the sample cat photo,
//! each computed on the CPU, SIMD and reference backends (which must agree exactly), and a check
//! that the thread count does not change a result.

mod common;

use common::{cat_path, fmt5, ramp};
use neurite_augment::spec::{parse_pipeline, parse_transform};
use neurite_augment::{ImageBatch, ImageSize, Transform, TransformExt, load_image};
use neurite_backend_cpu::CpuBackend;
use neurite_backend_simd::SimdBackend;
use neurite_core::reference::ReferenceBackend;
use neurite_core::{Backend, Rng, Stream, Tensor};

/// Every transform, always applied, with arguments that suit a 5×5 image.
const SMALL_ITEMS: &[&str] = &[
    "flip@1",
    "vflip@1",
    "translate:2,reflect",
    "translate:1,edge",
    "crop:pad=2",
    "resized-crop:0.1,0.5",
    "resize:3x3,nearest",
    "resize:7x4",
    "brightness:0.3",
    "brightness-mul:0.3",
    "contrast:0.5",
    "erase:1,random",
    "gaussian-blur:0.8",
    "median-blur:3",
    "median-blur:5",
    // (σ_color 0.25: at 0.2 one value sits on a five-digit rounding boundary, which the fused
    // multiply-adds of AVX2 and the baseline's separate ones fall either side of.)
    "bilateral-blur:1,0.25",
    "pca-noise:5",
    "noise:0.1",
    "salt-pepper:0.2",
    "rotate:30",
    "affine:20,0.2,15,0.2",
    "elastic:3,1",
];

/// Each of [`SMALL_ITEMS`] on a 3×5×5 ramp (seed 7): the item, the output shape, then one line of
/// values per channel.
fn each_transform<B: Backend>() -> String {
    let size = ImageSize::new(3, 5, 5);
    let input: Tensor<B> = ramp(size).into_tensor();
    let mut out = format!("input: {}\n", fmt5(input.as_slice()));
    for item in SMALL_ITEMS {
        let t = parse_transform(item).unwrap();
        let y = t.apply(&input, &mut Rng::stream(7, Stream::Augment));
        out.push_str(&format!("{item} {:?}\n", y.dims()));
        let plane = y.dims()[2] * y.dims()[3];
        for (c, values) in y.as_slice().chunks(plane).enumerate() {
            out.push_str(&format!("  c{c}: {}\n", fmt5(values)));
        }
    }
    out
}

#[test]
fn each_transform_on_a_small_image_is_pinned_and_identical_on_every_backend() {
    let cpu = each_transform::<CpuBackend>();
    assert_eq!(cpu, each_transform::<SimdBackend>());
    assert_eq!(cpu, each_transform::<ReferenceBackend>());
    insta::assert_snapshot!(cpu);
}

const CAT_PIPELINE: &str =
    "resized-crop:0.5,flip,brightness:0.1,contrast:0.2,gaussian-blur:1,pca-noise:1,noise:0.02,erase:0.5,median-blur:3";

/// The cat photo, four copies, through a seeded pipeline.
fn cat_pipeline<B: Backend>() -> Tensor<B> {
    let cat: Tensor<B> = load_image(cat_path()).expect("the sample photo loads");
    let batch = Tensor::concat(&[cat.clone(), cat.clone(), cat.clone(), cat], 0);
    parse_pipeline(CAT_PIPELINE).unwrap().apply(&batch, &mut Rng::stream(2024, Stream::Augment))
}

/// Per image and channel: the sum of the values, and the values of a few fixed pixels.
fn summary(x: &ImageBatch) -> String {
    let size = x.size();
    let mut out = format!("pipeline: {CAT_PIPELINE}\nshape: {:?}\n", x.dims());
    for i in 0..x.len() {
        let image = x.image(i);
        let sums: Vec<f32> =
            image.chunks(size.plane()).map(|p| p.iter().map(|&v| v as f64).sum::<f64>() as f32).collect();
        out.push_str(&format!("image {i} channel sums: {}\n", fmt5(&sums)));
        for (y, x) in [(0, 0), (150, 225), (299, 450), (77, 300)] {
            let px: Vec<f32> = (0..size.channels).map(|c| image[c * size.plane() + y * size.width + x]).collect();
            out.push_str(&format!("image {i} pixel ({y}, {x}): {}\n", fmt5(&px)));
        }
    }
    out
}

#[test]
fn a_seeded_pipeline_on_the_cat_is_pinned_and_identical_on_both_backends() {
    let cpu = cat_pipeline::<CpuBackend>();
    let simd = cat_pipeline::<SimdBackend>();
    assert_eq!(cpu.dims(), [4, 3, 300, 451]);
    assert_eq!(cpu.as_slice(), simd.as_slice(), "CPU and SIMD backends differ");
    insta::assert_snapshot!(summary(&ImageBatch::from_tensor(&cpu)));
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // 16 × 3 × 32 × 32 values is above the parallel threshold, so the pipeline runs on the pool.
    let input = common::random_batch(16, ImageSize::new(3, 32, 32), 5);
    let spec = "crop:pad=4,flip,resized-crop:0.3,gaussian-blur:1.2,bilateral-blur,pca-noise:2,noise:0.1,salt-pepper,erase:1,random";
    let pipeline = parse_pipeline(spec).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| pipeline.apply_batch(input.clone(), &mut Rng::stream(3, Stream::Augment)))
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(4));
    assert_ne!(one, input);
}
