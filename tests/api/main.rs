//! Integration tests: the real service over real HTTP, on SQLite and on PostgreSQL.
//!
//! Every test that touches the database is written once with `db_test!` and runs twice,
//! as `…::sqlite` and `…::postgres`. The PostgreSQL half needs `TEST_DATABASE_URL`.

mod helpers;
mod ical;

mod access;
mod activities;
mod audit;
mod auth;
mod backup;
mod browser;
mod candidates;
mod cli;
mod cli_startup;
mod connections;
mod contract;
mod deliveries;
mod dispatch;
mod events;
mod examples;
mod faults;
mod feeds;
mod generate;
mod health;
mod hours;
mod http;
mod instances;
mod matrix;
mod metrics;
mod organizations;
mod outbox;
mod pages;
mod plans;
mod programs;
mod receiver;
mod reliability;
mod robustness;
mod served;
mod sessions;
mod staffing;
mod teams;
mod tokens;
mod transfer;
mod venues;
mod volunteers;
mod webhooks;
