//! Moving whole programs in and out as JSON: `sciday import` and `sciday export`, which
//! together are also the deployment's backup.

pub mod export;
pub mod format;
pub mod import;
mod restore;
mod schedule;
mod staffing;

pub use export::{Options, export};
pub use format::Document;
pub use import::{Report, import};
