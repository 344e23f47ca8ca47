//! The library behind the `neurite` command: everything worth testing lives here, and
//! `main.rs` only parses flags and turns errors into exit codes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
pub mod error;
pub mod experiment;
pub mod fsutil;
pub mod plot;
pub mod recipe;
pub mod xor;
