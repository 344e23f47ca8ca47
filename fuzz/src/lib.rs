//! Shared by the fuzz targets: a global allocator that counts live heap bytes, so that each
//! target can fail an input that makes the code under test hold more memory than a bound derived
//! from the input's size ([`within_memory`]).
//!
//! libFuzzer's `-malloc_limit_mb` needs a sanitizer's malloc hooks and does nothing with
//! `--sanitizer none` (the only mode stable Rust offers here), and `-rss_limit_mb` only sees
//! memory that is touched; this allocator sees every request, touched or not.
//!
//! This crate is a test tool outside the workspace; the `unsafe` below is the `GlobalAlloc`
//! contract itself, forwarded unchanged to the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Heap bytes currently allocated by the process.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most heap bytes the process may hold; `usize::MAX` outside [`within_memory`].
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// The system allocator, counting.
struct Counting;

impl Counting {
    /// Counts `size` more bytes, aborting (a crash libFuzzer reports, with the input) past the
    /// limit.
    fn charge(size: usize) {
        let live = LIVE.fetch_add(size, Ordering::Relaxed).saturating_add(size);
        let limit = LIMIT.load(Ordering::Relaxed);
        if live > limit {
            // Lift the limit first: printing allocates.
            LIMIT.store(usize::MAX, Ordering::Relaxed);
            eprintln!("memory bound exceeded: {live} live heap bytes, the input justifies at most {limit}");
            std::process::abort();
        }
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting around the calls touches only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::charge(layout.size());
        // SAFETY: the caller's guarantees on `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::charge(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator (so by `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            Self::charge(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: the caller's guarantees on `ptr`, `layout` and `new_size` are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes every input may use whatever its size: decoder tables, error messages, the model
/// skeleton.
pub const BASE_BYTES: usize = 16 << 20;

/// Runs `f` with the process allowed at most `bytes` more heap bytes than it holds now; an
/// allocation past that aborts the process, which libFuzzer reports as a crash with the input.
pub fn within_memory<T>(bytes: usize, f: impl FnOnce() -> T) -> T {
    static HOOK: Once = Once::new();
    // A panic's message and backtrace allocate: lift the limit first, so the panic is what
    // libFuzzer reports. The hook wraps libfuzzer-sys's, which aborts after printing.
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            LIMIT.store(usize::MAX, Ordering::Relaxed);
            previous(info);
        }));
    });
    let before = LIVE.load(Ordering::Relaxed);
    LIMIT.store(before.saturating_add(bytes), Ordering::Relaxed);
    let out = f();
    LIMIT.store(usize::MAX, Ordering::Relaxed);
    out
}
