//! Hand-written statements for both backends: one text with `$n` placeholders and an
//! `ACTIVE` marker, turned into each backend's spelling.

use entity::kinds::AssignmentStatus;
use sea_orm::DatabaseBackend;

/// The statement text for a backend: `ACTIVE` spelled out as the list of active assignment
/// statuses, placeholders in the backend's dialect.
pub(crate) fn sql(template: &str, backend: DatabaseBackend) -> String {
    let active = AssignmentStatus::ACTIVE
        .iter()
        .map(|s| format!("'{}'", status_value(*s)))
        .collect::<Vec<_>>()
        .join(", ");
    let text = template.replace("ACTIVE", &active);
    match backend {
        DatabaseBackend::Postgres => text,
        // SQLite numbers its parameters ?1, ?2, ….
        _ => text.replace('$', "?"),
    }
}

/// An assignment status as stored.
pub(crate) fn status_value(status: AssignmentStatus) -> &'static str {
    match status {
        AssignmentStatus::Proposed => "proposed",
        AssignmentStatus::Confirmed => "confirmed",
        AssignmentStatus::Declined => "declined",
        AssignmentStatus::Cancelled => "cancelled",
        AssignmentStatus::CheckedIn => "checked_in",
        AssignmentStatus::NoShow => "no_show",
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable as _;

    use super::*;

    #[test]
    fn placeholders_follow_the_backend_and_active_is_spelled_out() {
        let template = "SELECT 1 FROM assignments a WHERE a.id = $1 AND a.status IN (ACTIVE)";
        let postgres = sql(template, DatabaseBackend::Postgres);
        assert!(postgres.contains("a.id = $1"));
        assert!(postgres.contains("'proposed', 'confirmed', 'checked_in', 'no_show'"));
        assert!(sql(template, DatabaseBackend::Sqlite).contains("a.id = ?1"));
    }

    #[test]
    fn the_status_spelling_matches_the_stored_values() {
        use sea_orm::ActiveEnum as _;
        for status in AssignmentStatus::iter() {
            assert_eq!(status_value(status), status.to_value());
        }
    }
}
