//! `sciday bench …`: measurements of the real service on loopback.

pub mod assign;
pub mod feeds;

pub use assign::*;
