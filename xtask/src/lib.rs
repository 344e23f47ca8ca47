//! Neurite's developer tasks as a library, so that the criterion benches and the `xtask` binary
//! share one set of workloads.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod report;
pub mod workloads;
