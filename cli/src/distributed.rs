//! `neurite train --distributed`: joining the processes `mpirun` started (cargo feature `mpi`),
//! and the rules that keep a run of many processes to one line of output and one exit code.

use neurite_train::distributed::{Communicator, first_failure, launched_by_mpirun};

use crate::error::usage;

/// How to build a `neurite` that has `--distributed`.
const BUILD_HINT: &str = "--distributed needs a neurite built with MPI: install Open MPI and libclang \
    (Debian: apt install openmpi-bin libopenmpi-dev libclang-dev), then build with \
    `cargo build --release -p neurite-cli --features mpi`";

/// How to launch it.
const LAUNCH_HINT: &str = "--distributed trains on the processes mpirun starts: run \
    `mpirun -np 4 neurite train --distributed …` (with --hostfile FILE across machines); \
    for the same numbers in one process, pass --shards S instead";

/// The run's communicator when `--distributed` was given, `None` otherwise.
///
/// # Errors
/// A usage error saying how to build or launch a distributed run when this one cannot be.
pub fn launch(distributed: bool) -> anyhow::Result<Option<Box<dyn Communicator>>> {
    if !distributed {
        return Ok(None);
    }
    if !cfg!(feature = "mpi") {
        return Err(usage(BUILD_HINT));
    }
    if !launched_by_mpirun() {
        return Err(usage(LAUNCH_HINT));
    }
    join()
}

#[cfg(feature = "mpi")]
fn join() -> anyhow::Result<Option<Box<dyn Communicator>>> {
    let mpi = neurite_train::distributed::Mpi::init().ok_or_else(|| usage("MPI was already initialised"))?;
    Ok(Some(Box::new(mpi)))
}

#[cfg(not(feature = "mpi"))]
fn join() -> anyhow::Result<Option<Box<dyn Communicator>>> {
    Err(usage(BUILD_HINT))
}

/// Called by every rank once it has read its settings and data: all go on together, or all
/// stop, and the first rank that failed is the only one to print (its line names it).
///
/// # Errors
/// This rank's error, or (silenced) a usage error if another rank failed.
pub fn agree<T>(comm: &dyn Communicator, planned: anyhow::Result<T>) -> anyhow::Result<T> {
    let Some(first) = first_failure(comm, planned.is_err()) else { return planned };
    crate::silence(comm.rank() != first);
    match planned {
        Err(e) if first != 0 => Err(e.context(format!("rank {first} of {}", comm.size()))),
        Err(e) => Err(e),
        Ok(_) => Err(usage(format!("rank {first} could not start"))),
    }
}
