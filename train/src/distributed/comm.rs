//! The [`Communicator`] trait and its in-process implementations.

use std::sync::{Arc, Barrier, Mutex, PoisonError};

/// The processes (ranks) of one run and the collective operations data-parallel training uses.
/// Every rank calls each operation in the same order with buffers of the same lengths; an
/// implementation may block until all have.
pub trait Communicator {
    /// This process's rank, `0..size`.
    fn rank(&self) -> usize;

    /// The number of ranks.
    fn size(&self) -> usize;

    /// Rank `r`'s `send` lands in `recv[r·len..(r+1)·len]` on every rank (`len = send.len()`).
    ///
    /// # Panics
    /// If `recv.len() != size · send.len()`.
    fn all_gather(&self, send: &[f32], recv: &mut [f32]);

    /// `send` is `size` blocks of equal length; block `j` goes to rank `j`, and the block rank `r`
    /// sent here lands in `recv`'s block `r`.
    ///
    /// # Panics
    /// If the lengths differ or are not a multiple of `size`.
    fn all_to_all(&self, send: &[f32], recv: &mut [f32]);

    /// Rank 0's `values` replace every other rank's.
    fn broadcast(&self, values: &mut [u64]);

    /// Like [`Communicator::all_gather`], for 64-bit integers (hashes, flags, counts).
    fn all_gather_u64(&self, send: &[u64], recv: &mut [u64]);

    /// Returns once every rank has called it.
    fn barrier(&self);

    /// Starts [`Communicator::all_to_all`] of `send`; the result comes from [`Pending::wait`].
    /// A communicator whose collectives run on a thread of their own (`Mpi`) returns at once,
    /// so the caller computes while the bytes travel; the default runs it before returning.
    fn start_all_to_all(&self, send: Vec<f32>) -> Pending {
        let mut recv = vec![0.0; send.len()];
        self.all_to_all(&send, &mut recv);
        Pending::done(recv)
    }

    /// Sums `values` over the ranks, in rank order (so the result does not depend on how the
    /// bytes travel), leaving the sum on every rank.
    fn all_reduce_sum(&self, values: &mut [f32]) {
        let sum = crate::distributed::reduce_in_shard_order(self, values, 1);
        values.copy_from_slice(&sum);
    }
}

/// A shared communicator is one (the `neurite` command keeps one for the end of a run while a
/// learner trains with it).
impl<C: Communicator + ?Sized> Communicator for std::rc::Rc<C> {
    fn rank(&self) -> usize {
        (**self).rank()
    }

    fn size(&self) -> usize {
        (**self).size()
    }

    fn all_gather(&self, send: &[f32], recv: &mut [f32]) {
        (**self).all_gather(send, recv);
    }

    fn all_to_all(&self, send: &[f32], recv: &mut [f32]) {
        (**self).all_to_all(send, recv);
    }

    fn broadcast(&self, values: &mut [u64]) {
        (**self).broadcast(values);
    }

    fn all_gather_u64(&self, send: &[u64], recv: &mut [u64]) {
        (**self).all_gather_u64(send, recv);
    }

    fn barrier(&self) {
        (**self).barrier();
    }

    fn start_all_to_all(&self, send: Vec<f32>) -> Pending {
        (**self).start_all_to_all(send)
    }
}

/// The result of a collective that may still be running.
pub struct Pending(Inner);

enum Inner {
    Done(Vec<f32>),
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    Running(std::sync::mpsc::Receiver<Vec<f32>>),
}

impl Pending {
    /// A result already there.
    pub(crate) fn done(result: Vec<f32>) -> Self {
        Pending(Inner::Done(result))
    }

    /// A result delivered later through `receiver`.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn running(receiver: std::sync::mpsc::Receiver<Vec<f32>>) -> Self {
        Pending(Inner::Running(receiver))
    }

    /// Waits for the result.
    ///
    /// # Panics
    /// If the thread running the collective ended without one (MPI ends the process first).
    pub fn wait(self) -> Vec<f32> {
        match self.0 {
            Inner::Done(v) => v,
            Inner::Running(r) => r.recv().expect("the communication thread ended during a collective"),
        }
    }
}

/// One process alone: every collective is a copy.
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleProcess;

impl Communicator for SingleProcess {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn all_gather(&self, send: &[f32], recv: &mut [f32]) {
        recv.copy_from_slice(send);
    }

    fn all_to_all(&self, send: &[f32], recv: &mut [f32]) {
        recv.copy_from_slice(send);
    }

    fn broadcast(&self, _values: &mut [u64]) {}

    fn all_gather_u64(&self, send: &[u64], recv: &mut [u64]) {
        recv.copy_from_slice(send);
    }

    fn barrier(&self) {}
}

/// Ranks that are threads of one process, meeting at a barrier: the data-parallel loop without
/// MPI, for tests and for seeing it work. [`ThreadGroup::new`] gives one communicator per rank;
/// move each into its own thread.
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<Shared>,
}

struct Shared {
    size: usize,
    barrier: Barrier,
    floats: Mutex<Vec<Vec<f32>>>,
    ints: Mutex<Vec<Vec<u64>>>,
}

impl ThreadGroup {
    /// `size` communicators of one group, rank 0 first.
    ///
    /// # Panics
    /// If `size` is 0.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(size: usize) -> Vec<ThreadGroup> {
        assert!(size > 0, "a thread group needs at least one rank");
        let shared = Arc::new(Shared {
            size,
            barrier: Barrier::new(size),
            floats: Mutex::new(vec![Vec::new(); size]),
            ints: Mutex::new(vec![Vec::new(); size]),
        });
        (0..size).map(|rank| ThreadGroup { rank, shared: Arc::clone(&shared) }).collect()
    }

    /// Publishes `send`, waits for every rank, lets `read` see all ranks' buffers, and waits
    /// again so that no rank overwrites its slot while another still reads it.
    fn exchange<T: Clone>(&self, slots: &Mutex<Vec<Vec<T>>>, send: &[T], read: impl FnOnce(&[Vec<T>])) {
        slots.lock().unwrap_or_else(PoisonError::into_inner)[self.rank] = send.to_vec();
        self.shared.barrier.wait();
        read(&slots.lock().unwrap_or_else(PoisonError::into_inner));
        self.shared.barrier.wait();
    }
}

impl Communicator for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.shared.size
    }

    fn all_gather(&self, send: &[f32], recv: &mut [f32]) {
        assert_eq!(recv.len(), send.len() * self.size(), "all_gather: receive buffer of the wrong length");
        self.exchange(&self.shared.floats, send, |all| {
            for (chunk, from) in recv.chunks_exact_mut(send.len().max(1)).zip(all) {
                chunk.copy_from_slice(from);
            }
        });
    }

    fn all_to_all(&self, send: &[f32], recv: &mut [f32]) {
        let size = self.size();
        assert!(send.len() == recv.len() && send.len().is_multiple_of(size), "all_to_all: buffers of the wrong length");
        let block = send.len() / size;
        let me = self.rank * block..(self.rank + 1) * block;
        self.exchange(&self.shared.floats, send, |all| {
            for (chunk, from) in recv.chunks_exact_mut(block.max(1)).zip(all) {
                chunk.copy_from_slice(&from[me.clone()]);
            }
        });
    }

    fn broadcast(&self, values: &mut [u64]) {
        let mut root = Vec::new();
        self.exchange(&self.shared.ints, values, |all| root = all[0].clone());
        values.copy_from_slice(&root);
    }

    fn all_gather_u64(&self, send: &[u64], recv: &mut [u64]) {
        assert_eq!(recv.len(), send.len() * self.size(), "all_gather_u64: receive buffer of the wrong length");
        self.exchange(&self.shared.ints, send, |all| {
            for (chunk, from) in recv.chunks_exact_mut(send.len().max(1)).zip(all) {
                chunk.copy_from_slice(from);
            }
        });
    }

    fn barrier(&self) {
        self.shared.barrier.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on every rank of a group of `size` threads and returns the results by rank.
    fn on_threads<T: Send + 'static>(size: usize, f: impl Fn(ThreadGroup) -> T + Send + Sync + 'static) -> Vec<T> {
        let f = Arc::new(f);
        let handles: Vec<_> = ThreadGroup::new(size)
            .into_iter()
            .map(|comm| {
                let f = Arc::clone(&f);
                std::thread::spawn(move || f(comm))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("rank thread")).collect()
    }

    #[test]
    fn all_gather_and_all_to_all_route_blocks_by_rank() {
        let out = on_threads(3, |comm| {
            let r = comm.rank() as f32;
            let mut gathered = vec![0.0; 6];
            comm.all_gather(&[r, r + 0.5], &mut gathered);
            // Rank r sends r·10 + j to rank j.
            let send: Vec<f32> = (0..3).map(|j| r * 10.0 + j as f32).collect();
            let mut got = vec![0.0; 3];
            comm.all_to_all(&send, &mut got);
            (gathered, got)
        });
        for (rank, (gathered, got)) in out.into_iter().enumerate() {
            assert_eq!(gathered, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
            let j = rank as f32;
            assert_eq!(got, [j, 10.0 + j, 20.0 + j]);
        }
    }

    #[test]
    fn broadcast_takes_rank_zeros_values() {
        let out = on_threads(4, |comm| {
            let mut v = [comm.rank() as u64 + 7, 1];
            comm.broadcast(&mut v);
            let mut all = vec![0; 4];
            comm.all_gather_u64(&[comm.rank() as u64 * 3], &mut all);
            (v, all)
        });
        for (v, all) in out {
            assert_eq!(v, [7, 1]);
            assert_eq!(all, [0, 3, 6, 9]);
        }
    }

    #[test]
    fn all_reduce_sums_in_rank_order_on_every_rank() {
        // 1e8 + 1 − 1e8 in f32 depends on the order: (1e8 + 1) − 1e8 = 0, 1e8 + (1 − 1e8) = 0 too,
        // but rank order must give exactly what a sequential loop gives.
        let values = [1.0e8f32, 1.0, -1.0e8, 3.0];
        let expected = values.iter().fold(0.0f32, |acc, v| acc + v);
        let out = on_threads(4, move |comm| {
            let mut buf = vec![values[comm.rank()], comm.rank() as f32];
            comm.all_reduce_sum(&mut buf);
            buf
        });
        for buf in out {
            assert_eq!(buf, [expected, 6.0]);
        }
        let mut one = vec![2.5, -1.0];
        SingleProcess.all_reduce_sum(&mut one);
        assert_eq!(one, [2.5, -1.0]);
    }
}
