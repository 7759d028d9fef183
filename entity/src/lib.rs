//! Database entities of sciday, one module per table, in SeaORM 2.0's dense format.
//!
//! The enums in [`kinds`] are stored as short strings and double as the API's vocabulary,
//! so a value reads the same in a row, in JSON and in the OpenAPI document.

pub mod activity;
pub mod api_token;
pub mod assignment;
pub mod audit_entry;
pub mod delivery;
pub mod delivery_attempt;
pub mod kinds;
pub mod organization;
pub mod page_action;
pub mod plan;
pub mod plan_attachment;
pub mod plan_extension;
pub mod plan_revision;
pub mod program;
pub mod program_hours;
pub mod qualification;
pub mod session;
pub mod session_change;
pub mod session_role;
pub mod team;
pub mod team_membership;
pub mod unavailability;
pub mod venue;
pub mod volunteer;
pub mod webhook;

/// Entities under their table-ish names, for `use entity::prelude::*` in queries.
pub mod prelude {
    pub use crate::activity::Entity as Activity;
    pub use crate::api_token::Entity as ApiToken;
    pub use crate::assignment::Entity as Assignment;
    pub use crate::audit_entry::Entity as AuditEntry;
    pub use crate::delivery::Entity as Delivery;
    pub use crate::delivery_attempt::Entity as DeliveryAttempt;
    pub use crate::organization::Entity as Organization;
    pub use crate::page_action::Entity as PageAction;
    pub use crate::plan::Entity as Plan;
    pub use crate::plan_attachment::Entity as PlanAttachment;
    pub use crate::plan_extension::Entity as PlanExtension;
    pub use crate::plan_revision::Entity as PlanRevision;
    pub use crate::program::Entity as Program;
    pub use crate::program_hours::Entity as ProgramHours;
    pub use crate::qualification::Entity as Qualification;
    pub use crate::session::Entity as Session;
    pub use crate::session_change::Entity as SessionChange;
    pub use crate::session_role::Entity as SessionRole;
    pub use crate::team::Entity as Team;
    pub use crate::team_membership::Entity as TeamMembership;
    pub use crate::unavailability::Entity as Unavailability;
    pub use crate::venue::Entity as Venue;
    pub use crate::volunteer::Entity as Volunteer;
    pub use crate::webhook::Entity as Webhook;
}
