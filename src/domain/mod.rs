//! Domain types and pure rules: parsing user input into values that are valid by
//! construction, and the rules of the schedule. Nothing here touches HTTP or a database.

pub mod audit;
pub mod check_in;
pub mod contact;
pub mod display;
pub mod field;
pub mod geo;
pub mod hours;
pub mod key;
pub mod link;
pub mod notice;
pub mod plan;
pub mod program_rules;
pub mod reminder;
pub mod staffing;
pub mod text;
pub mod time;
pub mod web;
pub mod webhook;
pub mod zone;
