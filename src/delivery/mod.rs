//! Webhook delivery: signing, when to retry, and what each platform's answer means.

pub mod backoff;
pub mod client;
pub mod dispatcher;
pub mod gather;
pub mod limits;
pub mod message;
pub mod signing;
pub mod verdict;
