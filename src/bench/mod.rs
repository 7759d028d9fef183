//! `sciday bench …`: measurements of the real service on loopback.

pub mod assign;
pub mod feeds;
pub mod kill;
pub mod webhooks;

pub use assign::*;

/// The median of `values` (the upper one of an even count).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
