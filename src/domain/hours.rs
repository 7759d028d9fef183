//! Service hours: what a session is worth to those who serve it.

use super::staffing::Slot;

/// The hours a session is worth: its length, or 8 hours a day for all-day sessions (which
/// span whole days but are not served around the clock).
pub fn planned(slot: Slot, all_day: bool) -> f64 {
    if all_day {
        let days = (slot.last_day - slot.first_day).num_days() + 1;
        return 8.0 * days as f64;
    }
    (slot.window.end() - slot.window.start()).num_seconds() as f64 / 3600.0
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::time::TimeWindow;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    /// 28 May 2019, 12:00–18:00 in Lianyungang.
    fn afternoon() -> Slot {
        let window = TimeWindow::new(at("2019-05-28T04:00:00Z"), at("2019-05-28T10:00:00Z")).unwrap();
        let day = window.start().date_naive();
        Slot {
            session_id: 1,
            venue_id: 1,
            window,
            first_day: day,
            last_day: day,
        }
    }

    #[test]
    fn hours_are_the_length_of_a_timed_session_and_eight_a_day_for_an_all_day_one() {
        assert!((planned(afternoon(), false) - 6.0).abs() < 1e-9);
        let mut week = afternoon();
        week.last_day = week.first_day + chrono::Days::new(4);
        assert!((planned(week, true) - 40.0).abs() < 1e-9);
    }
}
