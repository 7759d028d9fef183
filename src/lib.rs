//! sciday: the scheduling service for National Science and Technology Workers' Day programs.
//!
//! The binary in `main.rs` is a thin command line over this library; tests drive the same
//! library through [`app::App`], on an ephemeral port.

pub mod app;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod correlation;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod feeds;
pub mod generate;
pub mod http;
pub mod metrics;
pub mod store;
pub mod telemetry;
pub mod transfer;
pub mod web;
