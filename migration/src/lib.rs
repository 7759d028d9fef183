//! Schema migrations of sciday, applied in order at start-up and by `sciday migrate`.

pub use sea_orm_migration::prelude::*;

mod columns;
mod indexes;
mod m20261129_000001_create_organizations;
mod m20261129_000002_create_venues;
mod m20261129_000003_create_programs;
mod m20261129_000004_create_activities;
mod m20261129_000005_create_sessions;
mod m20261129_000006_create_api_tokens;
mod m20261130_000007_create_teams;
mod m20261130_000008_create_volunteers;
mod m20261130_000009_create_volunteer_details;
mod m20261130_000010_create_session_roles;
mod m20261130_000011_create_assignments;
mod m20261130_000012_add_volunteer_to_api_tokens;
mod m20261130_000013_add_sequence_to_sessions;
mod m20261130_000014_add_feed_token_to_volunteers;
mod m20261130_000015_create_webhooks;
mod m20261130_000016_create_deliveries;
mod m20261130_000017_create_delivery_attempts;
mod m20261130_000018_add_sending_state_to_webhooks;
mod m20261130_000019_add_plan_expected_to_organizations;
mod m20261130_000020_create_plans;
mod m20261130_000021_index_settled_deliveries;
mod m20261202_000022_add_expiry_to_api_tokens;
mod m20261202_000023_add_shared_to_venues;
mod m20261202_000024_add_delivery_recovery;
mod m20261207_000025_add_page_token_to_volunteers;
mod m20261207_000026_create_session_changes;
mod m20261207_000027_create_page_actions;
mod m20261207_000028_create_audit_entries;
mod m20261208_000029_create_program_hours;
mod m20261208_000030_create_program_hour_blocks;
mod m20261208_000031_index_list_filters;
mod m20261208_000032_create_feed_stamps;
mod m20261208_000033_index_claim_order;
mod m20261209_000034_index_claim_by_session;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_organizations::Migration),
            Box::new(m20261129_000002_create_venues::Migration),
            Box::new(m20261129_000003_create_programs::Migration),
            Box::new(m20261129_000004_create_activities::Migration),
            Box::new(m20261129_000005_create_sessions::Migration),
            Box::new(m20261129_000006_create_api_tokens::Migration),
            Box::new(m20261130_000007_create_teams::Migration),
            Box::new(m20261130_000008_create_volunteers::Migration),
            Box::new(m20261130_000009_create_volunteer_details::Migration),
            Box::new(m20261130_000010_create_session_roles::Migration),
            Box::new(m20261130_000011_create_assignments::Migration),
            Box::new(m20261130_000012_add_volunteer_to_api_tokens::Migration),
            Box::new(m20261130_000013_add_sequence_to_sessions::Migration),
            Box::new(m20261130_000014_add_feed_token_to_volunteers::Migration),
            Box::new(m20261130_000015_create_webhooks::Migration),
            Box::new(m20261130_000016_create_deliveries::Migration),
            Box::new(m20261130_000017_create_delivery_attempts::Migration),
            Box::new(m20261130_000018_add_sending_state_to_webhooks::Migration),
            Box::new(m20261130_000019_add_plan_expected_to_organizations::Migration),
            Box::new(m20261130_000020_create_plans::Migration),
            Box::new(m20261130_000021_index_settled_deliveries::Migration),
            Box::new(m20261202_000022_add_expiry_to_api_tokens::Migration),
            Box::new(m20261202_000023_add_shared_to_venues::Migration),
            Box::new(m20261202_000024_add_delivery_recovery::Migration),
            Box::new(m20261207_000025_add_page_token_to_volunteers::Migration),
            Box::new(m20261207_000026_create_session_changes::Migration),
            Box::new(m20261207_000027_create_page_actions::Migration),
            Box::new(m20261207_000028_create_audit_entries::Migration),
            Box::new(m20261208_000029_create_program_hours::Migration),
            Box::new(m20261208_000030_create_program_hour_blocks::Migration),
            Box::new(m20261208_000031_index_list_filters::Migration),
            Box::new(m20261208_000032_create_feed_stamps::Migration),
            Box::new(m20261208_000033_index_claim_order::Migration),
            Box::new(m20261209_000034_index_claim_by_session::Migration),
        ]
    }
}
