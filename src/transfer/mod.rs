//! Moving whole programs in and out as JSON: `sciday import` and `sciday export`.

pub mod export;
pub mod format;
pub mod import;
mod staffing;

pub use export::export;
pub use format::Document;
pub use import::{Report, import};
