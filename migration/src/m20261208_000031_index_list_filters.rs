//! Indexes for the list filters that had none, so each page of a list at national scale (a
//! million volunteers and assignments, 100,000 sessions) is read through an index, whatever the
//! filter and however deep the page:
//!
//! - sessions under way at `from`: by (end, start), within a program and overall; sessions by
//!   status (cancelled ones are few, and listed in start order); and every list's
//!   `updated_since` on the three large tables;
//! - flagged assignments (a handful among millions) and assignments by status, in id order;
//! - the audit trail by token and by action, newest first;
//! - a subscription's deliveries by status, newest first.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Name, table and columns of each index.
const INDEXES: &[(&str, &str, &str)] = &[
    ("idx_sessions_program_end", "sessions", "program_id, ends_at, starts_at"),
    ("idx_sessions_end", "sessions", "ends_at, starts_at"),
    ("idx_sessions_status_start", "sessions", "status, starts_at, id"),
    ("idx_sessions_updated", "sessions", "updated_at"),
    ("idx_assignments_status_id", "assignments", "status, id"),
    ("idx_assignments_updated", "assignments", "updated_at"),
    ("idx_volunteers_updated", "volunteers", "updated_at"),
    ("idx_audit_entries_token", "audit_entries", "token_id, id"),
    ("idx_audit_entries_action", "audit_entries", "action, id"),
    ("idx_deliveries_webhook_status", "deliveries", "webhook_id, status, id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, table, columns) in INDEXES {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON {table} ({columns})"))
                .await?;
        }
        // Only the flagged ones: the rest never need finding by their flag.
        db.execute_unprepared("CREATE INDEX idx_assignments_flagged ON assignments (id) WHERE flagged_at IS NOT NULL")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX idx_assignments_flagged").await?;
        for (name, _, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
        }
        Ok(())
    }
}
