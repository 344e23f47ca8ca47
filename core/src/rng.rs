//! Seeded randomness: `Rng` wraps ChaCha8, whose output is fixed by the `rand_chacha` format (unlike
//! `StdRng`, which may change between releases). One seed reproduces a whole run; independent
//! streams (initialisation, data order, dropout, augmentation) are derived from it so that drawing
//! more numbers in one never shifts another.

use rand::seq::SliceRandom;
use rand::{Rng as _, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// A named, independent stream of random numbers derived from one seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stream {
    /// Parameter initialisation.
    Init,
    /// Shuffling and splitting of the data.
    DataOrder,
    /// Dropout masks.
    Dropout,
    /// Data augmentation.
    Augment,
    /// Anything else; pick a number that no other user of the seed picks.
    Custom(u64),
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Init => 1,
            Stream::DataOrder => 2,
            Stream::Dropout => 3,
            Stream::Augment => 4,
            Stream::Custom(n) => 1 << 32 | n,
        }
    }
}

/// A seeded random number generator (ChaCha8).
#[derive(Clone, Debug)]
pub struct Rng {
    inner: ChaCha8Rng,
}

/// Everything needed to resume an `Rng` exactly where it stopped (for checkpoints).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte ChaCha key.
    pub seed: [u8; 32],
    /// The stream number.
    pub stream: u64,
    /// The position in the stream, in 32-bit words.
    pub word_pos: u128,
}

impl Rng {
    /// The default stream of `seed`.
    pub fn seed(seed: u64) -> Self {
        Rng { inner: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// Stream `stream` of `seed`: independent of every other stream of the same seed.
    pub fn stream(seed: u64, stream: Stream) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream.id());
        Rng { inner }
    }

    /// A new generator for a sub-task, seeded from this one (advances this one by one draw).
    pub fn fork(&mut self) -> Rng {
        Rng { inner: ChaCha8Rng::seed_from_u64(self.inner.next_u64()) }
    }

    /// The state to restore this generator later with [`Rng::from_state`].
    pub fn state(&self) -> RngState {
        RngState { seed: self.inner.get_seed(), stream: self.inner.get_stream(), word_pos: self.inner.get_word_pos() }
    }

    /// A generator that continues exactly where the one that gave `state` was.
    pub fn from_state(state: RngState) -> Self {
        let mut inner = ChaCha8Rng::from_seed(state.seed);
        inner.set_stream(state.stream);
        inner.set_word_pos(state.word_pos);
        Rng { inner }
    }

    /// A raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        self.inner.random::<f32>()
    }

    /// Uniform in [lo, hi).
    pub fn uniform_range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in 0..n.
    ///
    /// # Panics
    /// If `n == 0`.
    pub fn below(&mut self, n: usize) -> usize {
        self.inner.random_range(0..n)
    }

    /// Normal with the given mean and standard deviation.
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        let z: f32 = StandardNormal.sample(&mut self.inner);
        mean + std * z
    }

    /// True with probability `p`.
    pub fn bernoulli(&mut self, p: f32) -> bool {
        self.uniform() < p
    }

    /// A uniformly random permutation of 0..n (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut self.inner);
        order
    }

    /// `n` draws from N(mean, std²).
    pub fn normal_vec(&mut self, n: usize, mean: f32, std: f32) -> Vec<f32> {
        (0..n).map(|_| self.normal(mean, std)).collect()
    }

    /// `n` draws from U[lo, hi).
    pub fn uniform_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform_range(lo, hi)).collect()
    }

    /// `n` draws of 1.0 (probability `p`) or 0.0.
    pub fn bernoulli_vec(&mut self, n: usize, p: f32) -> Vec<f32> {
        (0..n).map(|_| if self.bernoulli(p) { 1.0 } else { 0.0 }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers() {
        let a: Vec<f32> = Rng::seed(7).normal_vec(5, 0.0, 1.0);
        let b: Vec<f32> = Rng::seed(7).normal_vec(5, 0.0, 1.0);
        assert_eq!(a, b);
        assert_ne!(a, Rng::seed(8).normal_vec(5, 0.0, 1.0));
    }

    #[test]
    fn streams_do_not_shift_each_other() {
        // Drawing from the dropout stream must not change what the data-order stream gives.
        let mut dropout = Rng::stream(1, Stream::Dropout);
        let _ = dropout.uniform_vec(1000, 0.0, 1.0);
        let order = Rng::stream(1, Stream::DataOrder).permutation(10);
        assert_eq!(order, Rng::stream(1, Stream::DataOrder).permutation(10));
        assert_ne!(
            Rng::stream(1, Stream::Dropout).uniform_vec(4, 0.0, 1.0),
            Rng::stream(1, Stream::Augment).uniform_vec(4, 0.0, 1.0)
        );
    }

    #[test]
    fn state_round_trip_resumes_exactly() {
        let mut rng = Rng::stream(3, Stream::Augment);
        let _ = rng.uniform_vec(17, 0.0, 1.0);
        let mut resumed = Rng::from_state(rng.state());
        assert_eq!(rng.normal_vec(9, 0.0, 1.0), resumed.normal_vec(9, 0.0, 1.0));
    }

    #[test]
    fn normal_draws_have_the_asked_moments() {
        let xs = Rng::seed(11).normal_vec(20_000, 2.0, 0.5);
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / xs.len() as f32;
        assert!((mean - 2.0).abs() < 0.02, "mean {mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.01, "std {}", var.sqrt());
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = Rng::seed(5).permutation(100);
        p.sort_unstable();
        assert_eq!(p, (0..100).collect::<Vec<_>>());
    }
}
