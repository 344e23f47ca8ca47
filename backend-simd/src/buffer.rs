//! `Buffer`: the storage of `SimdBackend`, a `Vec<f32>` that returns to a pool when dropped.
//! A training step asks for buffers of the same sizes every time, so after the first step every
//! request is served from the pool and the steady state allocates no new tensor memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Buffers shorter than this are not pooled: the allocator serves them cheaply.
const MIN_POOLED: usize = 1024;
/// Most buffers of one length kept for reuse. A residual network holds many maps of one size
/// at once (ResNet-20 keeps about 40 of its 32×32 stage's for backward); with 16, a steady step
/// allocated dozens afresh. The byte limit below is what bounds the pool.
const MAX_PER_LENGTH: usize = 256;
/// Most bytes the pool holds in all.
const MAX_POOL_BYTES: usize = 512 << 20;

struct Pool {
    free: HashMap<usize, Vec<Vec<f32>>>,
    bytes: usize,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

/// Buffers of pooled size that had to be freshly allocated (pool misses), for tests and reports.
static FRESH: AtomicUsize = AtomicUsize::new(0);

/// How many pooled-size buffers were allocated fresh (not taken from the pool) so far.
pub fn fresh_allocations() -> usize {
    FRESH.load(Ordering::Relaxed)
}

fn with_pool<R>(f: impl FnOnce(&mut Pool) -> R) -> R {
    // A poisoned pool only means another thread panicked mid-push; its contents are still valid.
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = guard.get_or_insert_with(|| Pool { free: HashMap::new(), bytes: 0 });
    f(pool)
}

/// An f32 buffer that goes back to a shared pool when dropped.
#[derive(Debug)]
pub struct Buffer {
    data: Vec<f32>,
}

impl Buffer {
    /// A buffer of `len` values whose contents are unspecified (the caller overwrites them all).
    pub fn uninit(len: usize) -> Buffer {
        if len >= MIN_POOLED {
            let reused = with_pool(|pool| {
                let v = pool.free.get_mut(&len).and_then(Vec::pop);
                if v.is_some() {
                    pool.bytes -= len * 4;
                }
                v
            });
            if let Some(data) = reused {
                return Buffer { data };
            }
            FRESH.fetch_add(1, Ordering::Relaxed);
        }
        Buffer { data: vec![0.0; len] }
    }

    /// A buffer of `len` zeros.
    pub fn zeroed(len: usize) -> Buffer {
        let mut b = Buffer::uninit(len);
        b.data.fill(0.0);
        b
    }

    /// A buffer taking ownership of `data`.
    pub fn from_vec(data: Vec<f32>) -> Buffer {
        Buffer { data }
    }

    /// The values.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The values, for writing.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl Clone for Buffer {
    fn clone(&self) -> Buffer {
        let mut b = Buffer::uninit(self.len());
        b.data.copy_from_slice(&self.data);
        b
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let len = self.data.len();
        if len < MIN_POOLED || self.data.capacity() != len {
            return;
        }
        let data = std::mem::take(&mut self.data);
        with_pool(|pool| {
            let list = pool.free.entry(len).or_default();
            if list.len() < MAX_PER_LENGTH && pool.bytes + len * 4 <= MAX_POOL_BYTES {
                pool.bytes += len * 4;
                list.push(data);
            }
        });
    }
}

/// Empties the pool (frees its memory).
pub fn clear_pool() {
    with_pool(|pool| {
        pool.free.clear();
        pool.bytes = 0;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_reused() {
        let len = 4096 + 17;
        let b = Buffer::zeroed(len);
        let ptr = b.as_slice().as_ptr();
        drop(b);
        let again = Buffer::uninit(len);
        assert_eq!(again.as_slice().as_ptr(), ptr);
        assert_eq!(Buffer::zeroed(len).as_slice(), vec![0.0; len].as_slice());
    }
}
