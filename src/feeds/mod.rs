//! Calendar feeds: iCalendar text for programs, activities, venues, organizations, teams and
//! each volunteer, written so every client reads the same events.

pub mod assemble;
pub mod changes;
pub mod ics;
pub mod key;
pub mod owner;
pub mod render;
pub mod service;
pub mod zones;
