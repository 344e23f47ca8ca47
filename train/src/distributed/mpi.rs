//! The MPI communicator (cargo feature `mpi`): the processes `mpirun` started, on one machine or
//! across a cluster, through Open MPI or any MPI-3 library.

use mpi::Threading;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, CommunicatorCollectives, Root};

use super::Communicator;

/// `MPI_COMM_WORLD`. Only the thread that created it calls MPI (the backend's worker threads
/// never do), so MPI is initialised at the "funneled" threading level.
pub struct Mpi {
    // Fields drop in order: the communicator before the universe, which finalises MPI.
    world: SimpleCommunicator,
    _universe: Universe,
}

impl Mpi {
    /// Initialises MPI and joins the world communicator; `None` if MPI was already initialised
    /// in this process.
    pub fn init() -> Option<Mpi> {
        let (universe, _) = mpi::initialize_with_threading(Threading::Funneled)?;
        let world = universe.world();
        Some(Mpi { world, _universe: universe })
    }

    /// Ends every rank of the run at once with `code` (for a failure only this rank saw, which
    /// would leave the others waiting).
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    /// [`Mpi::abort`] without the communicator at hand (it may be inside a learner).
    pub fn abort_world(code: i32) -> ! {
        SimpleCommunicator::world().abort(code)
    }
}

impl Communicator for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn all_gather(&self, send: &[f32], recv: &mut [f32]) {
        assert_eq!(recv.len(), send.len() * self.size(), "all_gather: receive buffer of the wrong length");
        self.world.all_gather_into(send, recv);
    }

    fn all_to_all(&self, send: &[f32], recv: &mut [f32]) {
        assert!(
            send.len() == recv.len() && send.len().is_multiple_of(self.size()),
            "all_to_all: buffers of the wrong length"
        );
        self.world.all_to_all_into(send, recv);
    }

    fn broadcast(&self, values: &mut [u64]) {
        self.world.process_at_rank(0).broadcast_into(values);
    }

    fn all_gather_u64(&self, send: &[u64], recv: &mut [u64]) {
        assert_eq!(recv.len(), send.len() * self.size(), "all_gather_u64: receive buffer of the wrong length");
        self.world.all_gather_into(send, recv);
    }

    fn barrier(&self) {
        self.world.barrier();
    }
}
