//! Reminder offsets as users write them (ISO 8601 durations such as `P1D` and `PT1H`), and
//! the keys that keep one message from being enqueued twice.

use chrono::{DateTime, TimeDelta, Utc};

use super::field::FieldError;

/// Reminders a subscription gets when it names none: a day and an hour before.
pub const DEFAULT_OFFSETS: [TimeDelta; 2] = [TimeDelta::days(1), TimeDelta::hours(1)];

/// Most reminders per session and subscription.
pub const MAX_OFFSETS: usize = 5;

/// The longest offset: reminders more than thirty days ahead help no one.
pub const MAX_OFFSET: TimeDelta = TimeDelta::days(30);

/// Reads an ISO 8601 duration of weeks, days, hours, minutes and seconds (`P1D`, `PT1H30M`,
/// `P1W`, `P1DT12H`). Years and months are refused: their length depends on the date.
pub fn parse_duration(text: &str) -> Option<TimeDelta> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return None,
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return None;
    }
    let mut total = TimeDelta::zero();
    for (part, units) in [
        (date, &[('W', 604_800), ('D', 86_400)][..]),
        (time.unwrap_or(""), &[('H', 3_600), ('M', 60), ('S', 1)][..]),
    ] {
        let mut digits = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let position = units.iter().position(|(unit, _)| *unit == c)?;
            if digits.is_empty() || digits.len() > 6 || position < next_unit {
                return None;
            }
            let amount: i64 = digits.parse().ok()?;
            total += TimeDelta::seconds(amount * units[position].1);
            digits.clear();
            next_unit = position + 1;
        }
        if !digits.is_empty() {
            return None;
        }
    }
    Some(total)
}

/// A duration as RFC 5545 (and ISO 8601) write it, such as `-P1D`, `-PT1H30M` or `PT0S`: days, then hours, minutes and
/// seconds, each smaller unit written whenever a smaller one follows (`PT1H0M5S`).
pub fn format_duration(delta: TimeDelta) -> String {
    let mut text = String::from(if delta < TimeDelta::zero() { "-P" } else { "P" });
    let total = delta.num_seconds().unsigned_abs();
    let (days, hours, minutes, seconds) = (total / 86_400, total / 3_600 % 24, total / 60 % 60, total % 60);
    if days > 0 {
        text.push_str(&format!("{days}D"));
    }
    if hours > 0 || minutes > 0 || seconds > 0 || days == 0 {
        text.push('T');
        if hours > 0 {
            text.push_str(&format!("{hours}H"));
        }
        if minutes > 0 || (hours > 0 && seconds > 0) {
            text.push_str(&format!("{minutes}M"));
        }
        if seconds > 0 || (hours == 0 && minutes == 0) {
            text.push_str(&format!("{seconds}S"));
        }
    }
    text
}

/// The offsets of a subscription: each a duration from one minute to thirty days, no
/// repeats, at most five; the defaults when none are given.
pub fn offsets(field: &str, given: Option<&[String]>) -> Result<Vec<TimeDelta>, FieldError> {
    let Some(given) = given else {
        return Ok(DEFAULT_OFFSETS.to_vec());
    };
    if given.len() > MAX_OFFSETS {
        return Err(FieldError::new(
            field,
            "too_many",
            format!("at most {MAX_OFFSETS} reminders"),
        ));
    }
    let mut out = Vec::with_capacity(given.len());
    for (i, text) in given.iter().enumerate() {
        let offset = parse_duration(text).ok_or_else(|| {
            FieldError::new(
                format!("{field}[{i}]"),
                "invalid_duration",
                format!("{text:?} is not an ISO 8601 duration such as P1D or PT1H"),
            )
        })?;
        if offset < TimeDelta::minutes(1) || offset > MAX_OFFSET {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                "out_of_range",
                "must be from PT1M to P30D",
            ));
        }
        if out.contains(&offset) {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                "duplicate",
                format!("{text} is given twice"),
            ));
        }
        out.push(offset);
    }
    out.sort_unstable_by(|a, b| b.cmp(a));
    Ok(out)
}

/// When a reminder `offset` before `start` falls due.
pub fn due_at(start: DateTime<Utc>, offset: TimeDelta) -> DateTime<Utc> {
    start - offset
}

/// The outbox key of a reminder: one per session, offset and version of the session's time,
/// so a move enqueues fresh reminders and a repeat of the same one is refused.
pub fn reminder_key(session: i64, offset: TimeDelta, session_version: i32) -> String {
    format!("session.reminder:{session}:{}:{session_version}", offset.num_seconds())
}

/// The outbox key of a change notice: one per session (or assignment) and version.
pub fn notice_key(event_type: &str, subject: i64, version: i32) -> String {
    format!("{event_type}:{subject}:{version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_name_each_unit_the_grammar_needs() {
        let cases = [
            (TimeDelta::days(-1), "-P1D"),
            (TimeDelta::hours(-1), "-PT1H"),
            (TimeDelta::minutes(-90), "-PT1H30M"),
            (TimeDelta::minutes(-15), "-PT15M"),
            (-(TimeDelta::days(1) + TimeDelta::hours(2)), "-P1DT2H"),
            (-(TimeDelta::hours(1) + TimeDelta::seconds(5)), "-PT1H0M5S"),
            (TimeDelta::seconds(-30), "-PT30S"),
            (TimeDelta::zero(), "PT0S"),
            (TimeDelta::days(2), "P2D"),
        ];
        for (delta, text) in cases {
            assert_eq!(format_duration(delta), text, "{delta:?}");
        }
    }

    #[test]
    fn offsets_are_written_back_as_they_were_given() {
        for text in ["P1D", "PT1H", "PT1H30M", "P1DT2H", "PT15M", "P2DT1H1M1S"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }

    #[test]
    fn iso_durations_of_fixed_length_are_read() {
        let cases = [
            ("P1D", TimeDelta::days(1)),
            ("PT1H", TimeDelta::hours(1)),
            ("PT30M", TimeDelta::minutes(30)),
            ("PT1H30M", TimeDelta::minutes(90)),
            ("P1DT12H", TimeDelta::hours(36)),
            ("P1W", TimeDelta::days(7)),
            ("PT90S", TimeDelta::seconds(90)),
            ("P2DT0H5M", TimeDelta::days(2) + TimeDelta::minutes(5)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Some(expected), "{text}");
        }
        for bad in [
            "",
            "P",
            "PT",
            "1D",
            "P1M",
            "P1Y",
            "PT1H1H",
            "PT30M1H",
            "P1DT",
            "PTH",
            "P-1D",
            "pt1h",
            "P1.5D",
            "P9999999D",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn offsets_default_to_a_day_and_an_hour_and_are_bounded() {
        assert_eq!(offsets("offsets", None).unwrap(), DEFAULT_OFFSETS);
        let given = ["PT15M".to_owned(), "P1D".to_owned()];
        assert_eq!(
            offsets("offsets", Some(&given)).unwrap(),
            [TimeDelta::days(1), TimeDelta::minutes(15)]
        );
        let error = |texts: &[&str]| {
            let owned: Vec<String> = texts.iter().map(|t| (*t).to_owned()).collect();
            offsets("offsets", Some(&owned)).unwrap_err()
        };
        assert_eq!(error(&["PT1H", "PT60M"]).code, "duplicate");
        assert_eq!(error(&["PT30S"]).code, "out_of_range");
        assert_eq!(error(&["P31D"]).code, "out_of_range");
        let bad = error(&["PT1H", "tomorrow"]);
        assert_eq!((bad.field.as_str(), bad.code), ("offsets[1]", "invalid_duration"));
        assert_eq!(
            error(&["PT1M", "PT2M", "PT3M", "PT4M", "PT5M", "PT6M"]).code,
            "too_many"
        );
    }

    #[test]
    fn keys_change_with_the_version_so_a_move_gets_new_reminders() {
        let before = reminder_key(7, TimeDelta::hours(1), 3);
        assert_eq!(before, "session.reminder:7:3600:3");
        assert_ne!(before, reminder_key(7, TimeDelta::hours(1), 4));
        assert_ne!(before, reminder_key(7, TimeDelta::days(1), 3));
        assert_eq!(notice_key("session.cancelled", 7, 5), "session.cancelled:7:5");
        let start = DateTime::parse_from_rfc3339("2019-05-28T09:00:00+08:00")
            .unwrap()
            .to_utc();
        assert_eq!(
            due_at(start, TimeDelta::hours(1)).to_rfc3339(),
            "2019-05-28T00:00:00+00:00"
        );
    }
}
