//! The MPI communicator (cargo feature `mpi`): the processes `mpirun` started, on one machine or
//! across a cluster, through Open MPI or any MPI-3 library.
//!
//! MPI lives on a thread of its own, which initialises it, makes every MPI call (the "funneled"
//! threading level) and finalises it. The training thread hands it requests in order, so the
//! collectives are called in the same order on every rank; [`Communicator::start_all_to_all`]
//! returns at once, so the training thread can compute the next shard while the bytes travel
//! (see [`crate::distributed::overlap`]).

use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use mpi::Threading;
use mpi::traits::{Communicator as _, CommunicatorCollectives, Root};

use super::Communicator;
use super::comm::Pending;

/// What the training thread asks of the MPI thread.
enum Request {
    AllGather(Vec<f32>, usize, Sender<Vec<f32>>),
    AllToAll(Vec<f32>, Sender<Vec<f32>>),
    Broadcast(Vec<u64>, Sender<Vec<u64>>),
    AllGatherU64(Vec<u64>, usize, Sender<Vec<u64>>),
    Barrier(Sender<()>),
    Abort(i32),
    /// Finalise MPI and end the thread.
    Finish,
}

/// The MPI thread's queue, for [`Mpi::abort_world`] (a `Sender` is `Sync`; this one is never
/// dropped, so the thread ends on [`Request::Finish`], not when its queue closes).
static QUEUE: OnceLock<Sender<Request>> = OnceLock::new();

/// `MPI_COMM_WORLD`, through the MPI thread.
pub struct Mpi {
    rank: usize,
    size: usize,
    requests: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Mpi {
    /// Starts the MPI thread, which initialises MPI and joins the world communicator; `None` if
    /// MPI was already initialised in this process.
    pub fn init() -> Option<Mpi> {
        let (requests, queue) = channel::<Request>();
        let (ready, started) = channel();
        let thread = std::thread::Builder::new()
            .name("mpi".into())
            .spawn(move || {
                let Some((universe, _)) = mpi::initialize_with_threading(Threading::Funneled) else {
                    let _ = ready.send(None);
                    return;
                };
                let world = universe.world();
                let _ = ready.send(Some((world.rank() as usize, world.size() as usize)));
                for request in queue {
                    // A receiver that has gone (its training thread is unwinding) wants no answer.
                    match request {
                        Request::AllGather(send, len, reply) => {
                            let mut recv = vec![0.0f32; len];
                            world.all_gather_into(&send[..], &mut recv[..]);
                            let _ = reply.send(recv);
                        }
                        Request::AllToAll(send, reply) => {
                            let mut recv = vec![0.0f32; send.len()];
                            world.all_to_all_into(&send[..], &mut recv[..]);
                            let _ = reply.send(recv);
                        }
                        Request::Broadcast(mut values, reply) => {
                            world.process_at_rank(0).broadcast_into(&mut values[..]);
                            let _ = reply.send(values);
                        }
                        Request::AllGatherU64(send, len, reply) => {
                            let mut recv = vec![0u64; len];
                            world.all_gather_into(&send[..], &mut recv[..]);
                            let _ = reply.send(recv);
                        }
                        Request::Barrier(reply) => {
                            world.barrier();
                            let _ = reply.send(());
                        }
                        Request::Abort(code) => world.abort(code),
                        Request::Finish => break,
                    }
                }
                // The world communicator, then the universe (MPI_Finalize).
                drop(world);
                drop(universe);
            })
            .ok()?;
        let (rank, size) = started.recv().ok()??;
        let _ = QUEUE.set(requests.clone());
        Some(Mpi { rank, size, requests: Some(requests), thread: Some(thread) })
    }

    /// Sends `request` and waits for the answer on `answer`.
    fn ask<T>(&self, request: impl FnOnce(Sender<T>) -> Request) -> T {
        let (reply, answer) = channel();
        self.send(request(reply));
        answer.recv().expect("the MPI thread ended during a collective")
    }

    fn send(&self, request: Request) {
        let requests = self.requests.as_ref().expect("the MPI thread is running");
        requests.send(request).expect("the MPI thread ended");
    }

    /// Ends every rank of the run at once with `code` (for a failure only this rank saw, which
    /// would leave the others waiting). If the MPI thread does not act within ten seconds (it is
    /// inside a collective that cannot finish), this process exits with `code`, and `mpirun`
    /// ends the others.
    pub fn abort_world(code: i32) -> ! {
        if let Some(queue) = QUEUE.get() {
            let _ = queue.send(Request::Abort(code));
            std::thread::sleep(Duration::from_secs(10));
        }
        std::process::exit(code)
    }
}

impl Drop for Mpi {
    fn drop(&mut self) {
        if let Some(requests) = self.requests.take() {
            let _ = requests.send(Request::Finish);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Communicator for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather(&self, send: &[f32], recv: &mut [f32]) {
        assert_eq!(recv.len(), send.len() * self.size, "all_gather: receive buffer of the wrong length");
        recv.copy_from_slice(&self.ask(|r| Request::AllGather(send.to_vec(), recv.len(), r)));
    }

    fn all_to_all(&self, send: &[f32], recv: &mut [f32]) {
        recv.copy_from_slice(&self.start_all_to_all(send.to_vec()).wait());
    }

    fn start_all_to_all(&self, send: Vec<f32>) -> Pending {
        let ok = send.len().is_multiple_of(self.size);
        assert!(ok, "all_to_all: {} values for {} ranks", send.len(), self.size);
        let (reply, answer) = channel();
        self.send(Request::AllToAll(send, reply));
        Pending::running(answer)
    }

    fn broadcast(&self, values: &mut [u64]) {
        values.copy_from_slice(&self.ask(|r| Request::Broadcast(values.to_vec(), r)));
    }

    fn all_gather_u64(&self, send: &[u64], recv: &mut [u64]) {
        assert_eq!(recv.len(), send.len() * self.size, "all_gather_u64: receive buffer of the wrong length");
        recv.copy_from_slice(&self.ask(|r| Request::AllGatherU64(send.to_vec(), recv.len(), r)));
    }

    fn barrier(&self) {
        self.ask(Request::Barrier);
    }
}
