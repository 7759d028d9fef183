//! Service hours: what a session is worth to those who serve it, and when it starts to count.
//!
//! A volunteer's record (志愿服务记录) states service that has taken place. A check-in says
//! that the volunteer came, not how long they stayed, so a session counts once it is over —
//! for its whole planned length — and not at all while it runs. A figure read during the
//! session therefore never has to be taken back later.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::staffing::Slot;
use super::zone::Zone;

/// The hours a session is worth: its length, or 8 hours a day for all-day sessions (which
/// span whole days but are not served around the clock).
pub fn planned(slot: Slot, all_day: bool) -> f64 {
    planned_seconds(slot, all_day) as f64 / 3600.0
}

/// [`planned`] in whole seconds, the unit totals are kept in so that adding and taking away
/// never drifts.
pub fn planned_seconds(slot: Slot, all_day: bool) -> i64 {
    if all_day {
        let days = (slot.last_day - slot.first_day).num_days() + 1;
        return 8 * 3600 * days;
    }
    (slot.window.end() - slot.window.start()).num_seconds()
}

/// The hours a checked-in volunteer has served at `now`: the session's worth once it is over,
/// `None` before.
pub fn served(slot: Slot, all_day: bool, now: DateTime<Utc>) -> Option<f64> {
    (slot.window.end() <= now).then(|| planned(slot, all_day))
}

/// The days a count of service covers, as people read them in `zone`: the first day, when
/// known, and the last. A period that ends at midnight ends with the day before.
pub fn days(from: Option<DateTime<Utc>>, to: DateTime<Utc>, zone: Zone) -> (Option<NaiveDate>, NaiveDate) {
    let local = |at: DateTime<Utc>| at.with_timezone(&zone.tz()).date_naive();
    let last = match from {
        Some(from) if to <= from => local(from),
        _ => local(to - TimeDelta::nanoseconds(1)),
    };
    (from.map(local), last)
}

/// The period as a record states it: `2019-05-28至2019-05-30`, or `截至2019-05-30` (up to
/// then) when it has no first day.
pub fn period_label(first: Option<NaiveDate>, last: NaiveDate) -> String {
    match first {
        Some(first) => format!("{first}至{last}"),
        None => format!("截至{last}"),
    }
}

/// The names of an export of service hours: an ASCII one for old clients and the real one,
/// which names the program (when there is one), what is counted and the period.
pub fn file_names(
    program: Option<(i64, &str)>,
    teams: bool,
    first: Option<NaiveDate>,
    last: NaiveDate,
) -> (String, String) {
    let (what, kind) = if teams {
        ("队伍志愿服务时长", "service-hours-teams")
    } else {
        ("志愿服务时长", "service-hours")
    };
    let period = period_label(first, last);
    let ascii_period = match first {
        Some(first) => format!("{first}-to-{last}"),
        None => format!("until-{last}"),
    };
    match program {
        Some((id, name)) => (
            format!("{kind}-program-{id}-{ascii_period}.csv"),
            format!("{}_{what}_{period}.csv", file_safe(name)),
        ),
        None => (format!("{kind}-{ascii_period}.csv"), format!("{what}_{period}.csv")),
    }
}

/// `name` without the characters file systems refuse in a file name.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn a_session_counts_nothing_while_it_runs_and_its_whole_length_once_over() {
        let check_in = at("2019-05-28T04:32:00Z");
        assert_eq!(served(afternoon(), false, check_in), None, "12:32, just checked in");
        assert_eq!(served(afternoon(), false, at("2019-05-28T09:59:59Z")), None);
        assert_eq!(served(afternoon(), false, at("2019-05-28T10:00:00Z")), Some(6.0));
        assert_eq!(served(afternoon(), false, at("2019-06-30T00:00:00Z")), Some(6.0));
    }

    #[test]
    fn an_all_day_session_counts_once_its_last_day_is_over() {
        let mut day = afternoon();
        day.window = TimeWindow::new(at("2019-05-27T16:00:00Z"), at("2019-05-28T16:00:00Z")).unwrap();
        assert_eq!(served(day, true, at("2019-05-28T10:00:00Z")), None);
        assert_eq!(served(day, true, at("2019-05-28T16:00:00Z")), Some(8.0));
    }

    #[test]
    fn a_period_ending_at_midnight_ends_with_the_day_before() {
        let zone = Zone::from_stored("Asia/Shanghai");
        let from = at("2019-05-27T16:00:00Z"); // 28 May, 00:00 in Lianyungang
        let (first, last) = days(Some(from), at("2019-05-29T16:00:00Z"), zone);
        assert_eq!(period_label(first, last), "2019-05-28至2019-05-29");
        let (first, last) = days(None, at("2019-06-01T02:00:00Z"), zone);
        assert_eq!(period_label(first, last), "截至2019-06-01");
    }

    #[test]
    fn an_export_is_named_for_its_program_and_period_with_an_ascii_fallback() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2019, 5, d).unwrap();
        let (ascii, name) = file_names(
            Some((1, "2019年全国科技工作者日系列活动")),
            false,
            Some(day(28)),
            day(30),
        );
        assert_eq!(ascii, "service-hours-program-1-2019-05-28-to-2019-05-30.csv");
        assert_eq!(
            name,
            "2019年全国科技工作者日系列活动_志愿服务时长_2019-05-28至2019-05-30.csv"
        );
        let (ascii, name) = file_names(Some((2, "海州/赣榆")), true, None, day(30));
        assert_eq!(ascii, "service-hours-teams-program-2-until-2019-05-30.csv");
        assert_eq!(name, "海州_赣榆_队伍志愿服务时长_截至2019-05-30.csv");
        assert!(ascii.is_ascii());
    }
}
