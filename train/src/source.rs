//! Where training and evaluation take their samples: the [`DataSource`] trait, random access by
//! index (as PyTorch's map-style `Dataset`), so that the learner owns the seeded order and the
//! batching, and any source shuffles, shards and resumes alike. An in-memory
//! [`neurite_nn::data::Dataset`] of u8 images is one source; [`TensorData`] (f32 inputs with
//! class or value targets) is another; a user's own loader is a third.
//!
//! Pixels ([`Inputs::Pixels`]) become network inputs through the learner's
//! [`Preprocessing`]; values ([`Inputs::Values`]) are used as they are.

use neurite_augment::{ImageBatch, ImageSize, Pipeline, Transform};
use neurite_core::{Backend, Rng, Stream, Tensor};
use neurite_nn::data::{Dataset, Layout, Preprocessing};

/// A source's failure to give samples (a file gone, a decode error).
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// The inputs of a batch, as a source gives them.
#[derive(Clone, Debug, PartialEq)]
pub enum Inputs {
    /// u8 pixels of whole images, each `[channels, height, width]` channel plane after channel
    /// plane, one image after the other.
    Pixels(Vec<u8>),
    /// f32 values, each sample's [`DataSource::sample_shape`] in row-major order, one sample after
    /// the other.
    Values(Vec<f32>),
}

/// The targets of a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class index per sample.
    Classes(Vec<usize>),
    /// The target values of each sample in turn (as many per sample as [`TargetKind::Values`]
    /// says).
    Values(Vec<f32>),
}

impl Targets {
    /// Samples in the batch, for `width` values per sample.
    pub fn len(&self, width: usize) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(v) => v.len() / width.max(1),
        }
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        match self {
            Targets::Classes(c) => c.is_empty(),
            Targets::Values(v) => v.is_empty(),
        }
    }
}

/// What a source's targets are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// Class indices below this many classes.
    Classes(usize),
    /// This many values per sample (1 for a scalar regression).
    Values(usize),
}

/// A batch of samples as a source gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    /// The inputs.
    pub inputs: Inputs,
    /// The targets.
    pub targets: Targets,
}

/// Samples by index, for [`crate::Learner::fit`] and [`crate::evaluate`].
///
/// ```
/// use neurite_train::{DataSource, Inputs, Samples, SourceError, TargetKind, Targets};
///
/// /// y = 2x + 1 on x = 0, 0.1, …: a source computed on demand.
/// struct Line(usize);
/// impl DataSource for Line {
///     fn len(&self) -> usize {
///         self.0
///     }
///     fn sample_shape(&self) -> Vec<usize> {
///         vec![1]
///     }
///     fn target_kind(&self) -> TargetKind {
///         TargetKind::Values(1)
///     }
///     fn get(&self, indices: &[usize]) -> Result<Samples, SourceError> {
///         let x: Vec<f32> = indices.iter().map(|&i| i as f32 / 10.0).collect();
///         let y = x.iter().map(|x| 2.0 * x + 1.0).collect();
///         Ok(Samples { inputs: Inputs::Values(x), targets: Targets::Values(y) })
///     }
/// }
/// let s = Line(5).get(&[3, 0]).unwrap();
/// assert_eq!(s.targets, Targets::Values(vec![1.6, 1.0]));
/// ```
pub trait DataSource: Sync {
    /// The number of samples.
    fn len(&self) -> usize;

    /// Whether there is no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one sample's input: `[channels, height, width]` for images given as pixels,
    /// any shape for values.
    fn sample_shape(&self) -> Vec<usize>;

    /// What the targets are.
    fn target_kind(&self) -> TargetKind;

    /// Whether the inputs are [`Inputs::Pixels`] (which the learner's preprocessing turns into
    /// values and may lay out flat) rather than [`Inputs::Values`]. Default: values.
    fn gives_pixels(&self) -> bool {
        false
    }

    /// The samples at `indices` (each below [`DataSource::len`]), in that order.
    ///
    /// # Errors
    /// Whatever keeps the source from giving them; training stops with it.
    fn get(&self, indices: &[usize]) -> Result<Samples, SourceError>;
}

impl DataSource for Dataset {
    fn len(&self) -> usize {
        Dataset::len(self)
    }

    fn sample_shape(&self) -> Vec<usize> {
        vec![self.channels(), self.rows(), self.cols()]
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Classes(self.classes())
    }

    fn gives_pixels(&self) -> bool {
        true
    }

    fn get(&self, indices: &[usize]) -> Result<Samples, SourceError> {
        let per = self.channels() * self.rows() * self.cols();
        let mut pixels = Vec::with_capacity(indices.len() * per);
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        let labels = indices.iter().map(|&i| usize::from(self.label(i))).collect();
        Ok(Samples { inputs: Inputs::Pixels(pixels), targets: Targets::Classes(labels) })
    }
}

impl DataSource for neurite_data::ImageSet {
    fn len(&self) -> usize {
        neurite_data::ImageSet::len(self)
    }

    fn sample_shape(&self) -> Vec<usize> {
        let s = self.size();
        vec![s.channels, s.height, s.width]
    }

    fn target_kind(&self) -> TargetKind {
        TargetKind::Classes(self.classes())
    }

    fn gives_pixels(&self) -> bool {
        true
    }

    fn get(&self, indices: &[usize]) -> Result<Samples, SourceError> {
        let pixels = self.pixels(indices)?;
        let labels = self.labels();
        let labels = indices.iter().map(|&i| usize::from(labels[i])).collect();
        Ok(Samples { inputs: Inputs::Pixels(pixels), targets: Targets::Classes(labels) })
    }
}

/// Samples held in memory as f32 inputs with class or value targets: any number of classes, any
/// input shape, regression targets.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorData {
    inputs: Vec<f32>,
    shape: Vec<usize>,
    targets: Targets,
    kind: TargetKind,
}

impl TensorData {
    /// `inputs` of samples of `shape` each, with one class index below `classes` per sample.
    ///
    /// # Errors
    /// A message if the inputs are not whole samples, one per label, or a label is out of range.
    pub fn classes(inputs: Vec<f32>, shape: &[usize], labels: Vec<usize>, classes: usize) -> Result<Self, String> {
        let n = labels.len();
        Self::check(&inputs, shape, n)?;
        if let Some((i, l)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
            return Err(format!("label {l} of sample {i} is not below {classes} classes"));
        }
        Ok(TensorData {
            inputs,
            shape: shape.to_vec(),
            targets: Targets::Classes(labels),
            kind: TargetKind::Classes(classes),
        })
    }

    /// `inputs` of samples of `shape` each, with `width` target values per sample.
    ///
    /// # Errors
    /// A message if the inputs and targets do not make the same number of whole samples.
    pub fn values(inputs: Vec<f32>, shape: &[usize], targets: Vec<f32>, width: usize) -> Result<Self, String> {
        if width == 0 || !targets.len().is_multiple_of(width) {
            return Err(format!("{} target values are not whole samples of {width}", targets.len()));
        }
        Self::check(&inputs, shape, targets.len() / width)?;
        Ok(TensorData {
            inputs,
            shape: shape.to_vec(),
            targets: Targets::Values(targets),
            kind: TargetKind::Values(width),
        })
    }

    fn check(inputs: &[f32], shape: &[usize], n: usize) -> Result<(), String> {
        let per: usize = shape.iter().product();
        if per == 0 || inputs.len() != per.saturating_mul(n) {
            return Err(format!("{} input values are not {n} samples of shape {shape:?}", inputs.len()));
        }
        Ok(())
    }
}

impl DataSource for TensorData {
    fn len(&self) -> usize {
        self.targets.len(match self.kind {
            TargetKind::Values(w) => w,
            TargetKind::Classes(_) => 1,
        })
    }

    fn sample_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    fn target_kind(&self) -> TargetKind {
        self.kind
    }

    fn get(&self, indices: &[usize]) -> Result<Samples, SourceError> {
        let per: usize = self.shape.iter().product();
        let mut inputs = Vec::with_capacity(indices.len() * per);
        for &i in indices {
            inputs.extend_from_slice(&self.inputs[i * per..(i + 1) * per]);
        }
        let targets = match (&self.targets, self.kind) {
            (Targets::Classes(labels), _) => Targets::Classes(indices.iter().map(|&i| labels[i]).collect()),
            (Targets::Values(values), TargetKind::Values(w)) => {
                Targets::Values(indices.iter().flat_map(|&i| values[i * w..(i + 1) * w].iter().copied()).collect())
            }
            (Targets::Values(_), TargetKind::Classes(_)) => unreachable!("value targets have a width"),
        };
        Ok(Samples { inputs: Inputs::Values(inputs), targets })
    }
}

/// How a source's samples enter the network: the shape of a batch of `n`, for pixels as the
/// preprocessing's layout says.
pub(crate) fn batch_shape(sample: &[usize], n: usize, preprocessing: &Preprocessing, pixels: bool) -> Vec<usize> {
    match (pixels, preprocessing.layout) {
        (true, Layout::Flat) => vec![n, sample.iter().product()],
        _ => std::iter::once(n).chain(sample.iter().copied()).collect(),
    }
}

/// A batch as the input pipeline prepares it, off the training thread: inputs as values (pixels
/// augmented, then preprocessed), ready to become a tensor.
pub(crate) struct Prepared {
    /// The input values.
    pub values: Vec<f32>,
    /// Whether they came from pixels (which the preprocessing's layout may lay out flat).
    pub pixels: bool,
    /// The targets.
    pub targets: Targets,
}

/// Reads the samples at `indices`, augments them (pixels as `u8` levels, before normalisation,
/// as torchvision's transforms run before `ToTensor` and `Normalize`; values as they are) with
/// randomness from `augment_seed` alone, and preprocesses pixels.
///
/// # Errors
/// The source's failure, or a batch of the wrong size.
pub(crate) fn prepare_batch(
    source: &dyn DataSource,
    indices: &[usize],
    sample: &[usize],
    preprocessing: &Preprocessing,
    pipeline: Option<&Pipeline>,
    augment_seed: u64,
) -> Result<Prepared, String> {
    let samples = source.get(indices).map_err(|e| e.to_string())?;
    let n = indices.len();
    let per: usize = sample.iter().product();
    let found = match &samples.inputs {
        Inputs::Pixels(p) => p.len(),
        Inputs::Values(v) => v.len(),
    };
    if found != per * n {
        return Err(format!("a batch of {n} samples of {sample:?} came with {found} values"));
    }
    let inputs = match pipeline {
        None => samples.inputs,
        Some(pipeline) => {
            let &[c, h, w] = sample else {
                return Err(format!("augmentation needs images [channels, height, width], the samples are {sample:?}"));
            };
            let size = ImageSize::new(c, h, w);
            let mut rng = Rng::stream(augment_seed, Stream::Augment);
            match samples.inputs {
                Inputs::Pixels(p) => {
                    Inputs::Pixels(pipeline.apply_batch_u8(ImageBatch::new(p, n, size), &mut rng).into_vec())
                }
                Inputs::Values(v) => {
                    Inputs::Values(pipeline.apply_batch(ImageBatch::new(v, n, size), &mut rng).into_vec())
                }
            }
        }
    };
    let pixels = matches!(inputs, Inputs::Pixels(_));
    Ok(Prepared { values: input_values(inputs, sample, preprocessing), pixels, targets: samples.targets })
}

/// Inputs as values: pixels preprocessed (x = (pixel·scale − meanᶜ)/stdᶜ), values as they are.
fn input_values(inputs: Inputs, sample: &[usize], preprocessing: &Preprocessing) -> Vec<f32> {
    match inputs {
        Inputs::Pixels(pixels) => {
            let per: usize = sample.iter().product();
            let plane = sample.get(1..).map_or(per, |hw| hw.iter().product::<usize>()).max(1);
            let mut values = Vec::with_capacity(pixels.len());
            for image in pixels.chunks(per.max(1)) {
                for (c, plane) in image.chunks(plane).enumerate() {
                    values.extend(plane.iter().map(|&px| preprocessing.apply(px, c)));
                }
            }
            values
        }
        Inputs::Values(values) => values,
    }
}

/// The input tensor of a batch: pixels preprocessed (x = (pixel·scale − meanᶜ)/stdᶜ), values
/// as they are.
///
/// # Errors
/// A message if the source gave the wrong number of values.
pub(crate) fn input_tensor<B: Backend>(
    inputs: Inputs,
    sample: &[usize],
    n: usize,
    preprocessing: &Preprocessing,
) -> Result<Tensor<B>, String> {
    let per: usize = sample.iter().product();
    let pixels = matches!(inputs, Inputs::Pixels(_));
    let found = match &inputs {
        Inputs::Pixels(p) => p.len(),
        Inputs::Values(v) => v.len(),
    };
    if found != per * n {
        let what = if pixels { "pixels" } else { "values" };
        return Err(format!("a batch of {n} samples of {sample:?} came with {found} {what}"));
    }
    let values = input_values(inputs, sample, preprocessing);
    Ok(Tensor::from_vec(values, batch_shape(sample, n, preprocessing, pixels)))
}

#[cfg(test)]
mod tests {
    use neurite_augment::{Brightness, Contrast, GaussianNoise};

    use super::*;

    /// A colour data set whose standardised values are half negative: pixels 40 and 200 in
    /// every channel.
    fn two_tone() -> Dataset {
        let mut pixels = Vec::new();
        for i in 0..8u8 {
            let v = if i % 2 == 0 { 40 } else { 200 };
            pixels.extend(std::iter::repeat_n(v + i, 3 * 4 * 4));
        }
        Dataset::with_channels(pixels, vec![0; 8], [3, 4, 4], 2).unwrap()
    }

    /// Colour transforms see the pixels as they are (levels of [0, 1]) and the normalisation
    /// comes after them: the batch is preprocess(augment(pixels)). Augmenting the standardised
    /// values instead (the old order) clamps every negative one to 0.
    #[test]
    fn colour_transforms_run_on_pixels_before_normalisation() {
        let data = two_tone();
        let preprocessing = Preprocessing::standardized_for(&data, Layout::Nchw);
        let sample = [3, 4, 4];
        let indices: Vec<usize> = (0..8).collect();
        for pipeline in [
            Pipeline::new().then(Brightness::additive(0.1)),
            Pipeline::new().then(Contrast::new(0.3)),
            Pipeline::new().then(GaussianNoise::new(0.05)),
        ] {
            let prepared = prepare_batch(&data, &indices, &sample, &preprocessing, Some(&pipeline), 77).unwrap();
            let raw = data.get(&indices).unwrap().inputs;
            let Inputs::Pixels(raw) = raw else { unreachable!() };
            let mut rng = Rng::stream(77, Stream::Augment);
            let augmented =
                pipeline.apply_batch_u8(ImageBatch::new(raw, 8, ImageSize::new(3, 4, 4)), &mut rng).into_vec();
            let expected: Vec<f32> = augmented
                .chunks(16)
                .enumerate()
                .flat_map(|(k, plane)| plane.iter().map(move |&p| preprocessing.apply(p, k % 3)))
                .collect();
            assert_eq!(prepared.values, expected, "{}", pipeline.names());
            // Dark images stay below the mean: their values are negative, as the model sees them.
            let negative = prepared.values.iter().filter(|v| **v < -0.5).count();
            assert!(negative >= 4 * 48 - 10, "{}: only {negative} negative values", pipeline.names());
        }
    }

    #[test]
    fn a_batch_is_the_same_whoever_prepares_it() {
        let data = two_tone();
        let preprocessing = Preprocessing::standardized_for(&data, Layout::Nchw);
        let pipeline = neurite_augment::spec::parse_pipeline("crop:pad=1,flip,brightness:0.2").unwrap();
        let prepare = || prepare_batch(&data, &[5, 2, 7], &[3, 4, 4], &preprocessing, Some(&pipeline), 5).unwrap();
        let here = prepare();
        let there = std::thread::scope(|s| s.spawn(prepare).join().unwrap());
        assert_eq!(here.values, there.values);
        let other = prepare_batch(&data, &[5, 2, 7], &[3, 4, 4], &preprocessing, Some(&pipeline), 6).unwrap();
        assert_ne!(here.values, other.values, "another seed draws other augmentations");
    }
}
