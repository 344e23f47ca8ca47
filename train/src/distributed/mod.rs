//! Data-parallel training: the same run on 1, 2 or N processes, with the same numbers.
//!
//! A [`Communicator`] joins the processes (ranks) of a run: [`SingleProcess`] for one, the
//! threads of a [`ThreadGroup`] for tests and demonstrations, and `Mpi` (cargo feature `mpi`)
//! for processes started by `mpirun`, on one machine or on a cluster. The training loop is
//! written once against the trait ([`crate::Learner::data_parallel`]).
//!
//! **How a step is cut.** Every rank reads the same data in the same seeded order, so every rank
//! knows each global batch. The batch is cut into `S` shards of consecutive samples (sizes
//! differ by at most one, larger first); rank `r` of `N` computes the gradients of shards
//! `r·S/N … (r+1)·S/N − 1`, each scaled by its share of the batch. The per-shard gradients are
//! then summed **in shard order** by [`reduce_in_shard_order`]: an all-to-all gives each rank one
//! slice of the parameters from every shard, the rank adds its slice over shards 0, 1, …, S − 1,
//! and an all-gather puts the slices back together. Which rank computed a shard, and how MPI
//! routes the bytes, cannot change a single bit of the sum; so with the same seed, batch and `S`
//! a run gives bit-identical weights and metrics on 1, 2 or 4 ranks (`S` divisible by the rank
//! count). The bytes moved per rank and step are `2·(N−1)/N` gradient sizes when `S = N`, as in
//! a ring all-reduce, and `(S/N + 1)·(N−1)/N` in general.
//!
//! **What is per shard.** Augmentation is not: every rank augments the whole batch with the
//! epoch's generator, as one process does, and cuts its shards from the result (the work is
//! repeated on every rank; it is small next to a forward and backward pass). Dropout is not
//! either: shard `k`, starting at sample `s` of the batch, draws its masks from the model's
//! generators moved ahead by `s` samples' worth of draws, so the masks are those of a single
//! process. Batch norm is: it normalises each shard with that shard's statistics (as PyTorch's
//! DDP does without SyncBatchNorm), and its running statistics become the shard-size-weighted
//! mean of what each shard's update gives; so with batch norm a sharded run differs from a plain
//! one by more than rounding. L1/L2
//! penalties are added once, by shard 0.

mod comm;
#[cfg(feature = "mpi")]
mod mpi;
mod step;

pub use comm::{Communicator, Pending, SingleProcess, ThreadGroup};
#[cfg(feature = "mpi")]
pub use mpi::Mpi;
pub use step::{Traffic, overlap, reduce_in_shard_order, shard_range};
pub(crate) use step::{fingerprint_check, hash_bytes, hash_floats, sharded_step};

/// Whether this process was started by `mpirun` (Open MPI, MPICH and other PMI launchers set
/// these variables), so that `--distributed` can say how to launch it when it was not.
pub fn launched_by_mpirun() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"].iter().any(|v| std::env::var_os(v).is_some())
}

/// Worker threads for each rank: the cores this process may use shared among the ranks `mpirun`
/// put on this machine (`None` outside `mpirun`).
pub fn threads_per_rank() -> Option<usize> {
    let local = ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse::<usize>().ok())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Some((cores / local.max(1)).max(1))
}

/// Every rank says whether it `failed` (to read its data, say); all learn the first rank that
/// did, so that all stop together instead of waiting for it.
pub fn first_failure(comm: &dyn Communicator, failed: bool) -> Option<usize> {
    let mut all = vec![0u64; comm.size()];
    comm.all_gather_u64(&[u64::from(failed)], &mut all);
    all.iter().position(|&f| f != 0)
}

/// The default number of shards each global batch is cut into.
pub const DEFAULT_SHARDS: usize = 4;

/// A data-parallel setting for [`crate::Learner::data_parallel`]: the communicator that joins
/// the ranks and the number of shards per batch.
pub struct DataParallel {
    pub(crate) comm: Box<dyn Communicator>,
    pub(crate) shards: usize,
    pub(crate) traffic: Traffic,
    pub(crate) scratch: step::Scratch,
    /// Words each dropout generator draws per sample (measured at the first step).
    pub(crate) dropout_words: Vec<u128>,
}

impl DataParallel {
    /// Cuts each global batch into `shards` shards and sums them across the ranks of `comm`.
    pub fn new(comm: Box<dyn Communicator>, shards: usize) -> Self {
        DataParallel {
            comm,
            shards,
            traffic: Traffic::default(),
            scratch: step::Scratch::default(),
            dropout_words: Vec::new(),
        }
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.comm.size()
    }

    /// Shards per global batch.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// Time and bytes spent in communication since the run started.
    pub fn traffic(&self) -> Traffic {
        self.traffic
    }
}
