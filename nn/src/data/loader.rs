//! [`BatchLoader`]: batches of a [`Dataset`] as f32 tensors, optionally in a seeded shuffled order
//! that changes every epoch (and is the same for the same seed, run after run).

use std::marker::PhantomData;

use neurite_core::{Backend, Rng, Stream, Tensor};

use super::{Dataset, Preprocessing};

/// One batch: inputs (`[n, 1, rows, cols]` or `[n, rows·cols]`), labels as a `[n]` tensor of
/// class indices (what [`crate::loss::cross_entropy`] takes), and the same labels as integers.
pub struct Batch<B: Backend> {
    /// The inputs, laid out and scaled as the loader's [`Preprocessing`] says.
    pub inputs: Tensor<B>,
    /// Class indices as f32, `[n]`.
    pub labels: Tensor<B>,
    /// Class indices.
    pub label_indices: Vec<usize>,
}

/// Splits a data set into batches, shuffled by stream [`Stream::DataOrder`] of a seed if asked.
pub struct BatchLoader<'a> {
    dataset: &'a Dataset,
    batch_size: usize,
    preprocessing: Preprocessing,
    shuffle: Option<Rng>,
    drop_last: bool,
}

impl<'a> BatchLoader<'a> {
    /// Batches of `batch_size` in the data set's order, pixels scaled to [0, 1] in NCHW layout,
    /// the last batch possibly smaller.
    ///
    /// # Panics
    /// If `batch_size` is zero.
    pub fn new(dataset: &'a Dataset, batch_size: usize) -> Self {
        assert!(batch_size > 0, "batch loader: batch size must be positive");
        BatchLoader { dataset, batch_size, preprocessing: Preprocessing::default(), shuffle: None, drop_last: false }
    }

    /// Sets how pixels become inputs (scale, standardisation, layout).
    pub fn with_preprocessing(mut self, preprocessing: Preprocessing) -> Self {
        self.preprocessing = preprocessing;
        self
    }

    /// Shuffles every epoch with a new permutation drawn from stream [`Stream::DataOrder`] of
    /// `seed`: epoch k of two loaders with the same seed visits the samples in the same order.
    pub fn shuffled(mut self, seed: u64) -> Self {
        self.shuffle = Some(Rng::stream(seed, Stream::DataOrder));
        self
    }

    /// Whether to skip a last batch smaller than the batch size.
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self
    }

    /// The preprocessing in force.
    pub fn preprocessing(&self) -> &Preprocessing {
        &self.preprocessing
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        if self.drop_last { self.dataset.len() / self.batch_size } else { self.dataset.len().div_ceil(self.batch_size) }
    }

    /// The next epoch's batches (drawing its order now, if shuffling).
    pub fn epoch<B: Backend>(&mut self) -> Batches<'a, B> {
        let n = self.dataset.len();
        let order = match &mut self.shuffle {
            Some(rng) => rng.permutation(n),
            None => (0..n).collect(),
        };
        let end = if self.drop_last { n - n % self.batch_size } else { n };
        Batches {
            dataset: self.dataset,
            order,
            end,
            next: 0,
            batch_size: self.batch_size,
            preprocessing: self.preprocessing,
            backend: PhantomData,
        }
    }
}

/// The batches of one epoch, in order.
pub struct Batches<'a, B: Backend> {
    dataset: &'a Dataset,
    order: Vec<usize>,
    end: usize,
    next: usize,
    batch_size: usize,
    preprocessing: Preprocessing,
    backend: PhantomData<B>,
}

impl<B: Backend> Iterator for Batches<'_, B> {
    type Item = Batch<B>;

    fn next(&mut self) -> Option<Batch<B>> {
        if self.next >= self.end {
            return None;
        }
        let stop = (self.next + self.batch_size).min(self.end);
        let indices = &self.order[self.next..stop];
        self.next = stop;
        let (inputs, label_indices) = self.dataset.batch_tensor::<B>(indices, &self.preprocessing);
        let labels = Tensor::from_vec(label_indices.iter().map(|&l| l as f32).collect(), [label_indices.len()]);
        Some(Batch { inputs, labels, label_indices })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.next).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl<B: Backend> ExactSizeIterator for Batches<'_, B> {}
