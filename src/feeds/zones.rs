//! `VTIMEZONE` components built from the tz database that chrono-tz carries.
//!
//! Every `TZID` a feed uses gets a `VTIMEZONE` that is right for every instant the feed's
//! events cover: the offset in force at the start (valid since 1970, so no local time before
//! the first event is left without a rule) and then each change of offset or abbreviation
//! up to the end, as a `STANDARD` or `DAYLIGHT` observance with its own onset. Asia/Shanghai
//! has not changed since 1991, so its block is a single `STANDARD` at +0800.

use chrono::{DateTime, NaiveDateTime, Offset as _, TimeDelta, TimeZone as _, Utc};
use chrono_tz::{OffsetComponents as _, OffsetName as _, Tz};

use super::ics::Writer;

/// The rules in force at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Observance {
    /// Seconds east of UTC.
    offset: i32,
    /// Daylight saving time is on.
    daylight: bool,
    /// Abbreviation such as `CST`.
    name: String,
}

fn observance_at(tz: Tz, at: DateTime<Utc>) -> Observance {
    let offset = tz.offset_from_utc_datetime(&at.naive_utc());
    Observance {
        offset: offset.fix().local_minus_utc(),
        daylight: !offset.dst_offset().is_zero(),
        name: offset.abbreviation().unwrap_or_default().to_owned(),
    }
}

/// A change of rules: the first instant of `to`, and the rules it replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Transition {
    at: DateTime<Utc>,
    from: Observance,
    to: Observance,
}

/// Every transition of `tz` in `(start, end]`. Offsets change at most a few times a year, so
/// the range is walked a day at a time and each change is then narrowed to the second.
fn transitions(tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Transition> {
    let mut found = Vec::new();
    let mut at = start;
    let mut current = observance_at(tz, at);
    while at < end {
        let next = Ord::min(at + TimeDelta::days(1), end);
        let then = observance_at(tz, next);
        if then != current {
            // Whole seconds: the tz database changes rules on the second.
            let (mut before, mut after) = (at.timestamp(), next.timestamp());
            while after - before > 1 {
                let middle = before + (after - before) / 2;
                if observance_at(tz, second(middle)) == current {
                    before = middle;
                } else {
                    after = middle;
                }
            }
            let after = second(after);
            let to = observance_at(tz, after);
            found.push(Transition {
                at: after,
                from: current,
                to: to.clone(),
            });
            current = to;
            // Re-check the rest of the day: the narrowed change may not be the day's last.
            at = after;
            continue;
        }
        at = next;
        current = then;
    }
    found
}

fn second(timestamp: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(timestamp, 0).unwrap_or_default()
}

/// `+0800`, `-0330`, `+0545`, or with seconds where the tz database has them.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let total = seconds.unsigned_abs();
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60);
    if secs == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{secs:02}")
    }
}

fn local_text(at: NaiveDateTime) -> String {
    at.format("%Y%m%dT%H%M%S").to_string()
}

fn write_observance(writer: &mut Writer, onset: NaiveDateTime, from: &Observance, to: &Observance) {
    let kind = if to.daylight { "DAYLIGHT" } else { "STANDARD" };
    writer.begin(kind);
    writer.property("DTSTART", [], &local_text(onset));
    writer.property("TZOFFSETFROM", [], &utc_offset(from.offset));
    writer.property("TZOFFSETTO", [], &utc_offset(to.offset));
    if !to.name.is_empty() {
        writer.property("TZNAME", [], &to.name);
    }
    writer.end(kind);
}

/// Writes the `VTIMEZONE` of `tz`, right for every instant from `start` to `end`.
pub fn write_vtimezone(writer: &mut Writer, tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) {
    // A day either side, so local times near the ends resolve under the listed rules.
    let (start, end) = (start - TimeDelta::days(1), end + TimeDelta::days(1));
    let initial = observance_at(tz, start);
    writer.begin("VTIMEZONE");
    writer.property("TZID", [], tz.name());
    let epoch = DateTime::UNIX_EPOCH.naive_utc();
    write_observance(writer, epoch, &initial, &initial);
    for transition in transitions(tz, start, end) {
        // An onset is the local time just before the change, in the rules it ends.
        let onset = transition.at.naive_utc() + TimeDelta::seconds(i64::from(transition.from.offset));
        write_observance(writer, onset, &transition.from, &transition.to);
    }
    writer.end("VTIMEZONE");
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn utc(year: i32, month: u32, day: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .unwrap_or_default()
    }

    fn vtimezone(tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
        let mut writer = Writer::default();
        write_vtimezone(&mut writer, tz, start, end);
        writer.finish()
    }

    #[test]
    fn shanghai_is_one_standard_block_at_plus_eight() {
        assert_eq!(
            vtimezone(chrono_tz::Asia::Shanghai, utc(2019, 5, 1), utc(2019, 6, 1)),
            "BEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
             TZOFFSETFROM:+0800\r\nTZOFFSETTO:+0800\r\nTZNAME:CST\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        );
    }

    #[test]
    fn a_daylight_saving_zone_gets_each_change_with_its_local_onset() {
        let text = vtimezone(chrono_tz::America::New_York, utc(2019, 1, 10), utc(2019, 12, 20));
        // Winter at the start, then spring forward at 02:00 EST and fall back at 02:00 EDT.
        let expected = "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n\
             BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\nEND:STANDARD\r\n\
             BEGIN:DAYLIGHT\r\nDTSTART:20190310T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\nEND:DAYLIGHT\r\n\
             BEGIN:STANDARD\r\nDTSTART:20191103T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\nEND:STANDARD\r\n\
             END:VTIMEZONE\r\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_span_that_starts_in_summer_starts_with_daylight() {
        let text = vtimezone(chrono_tz::Europe::Berlin, utc(2019, 7, 1), utc(2019, 8, 1));
        assert!(text.contains(
            "BEGIN:DAYLIGHT\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
        ));
        assert!(!text.contains("BEGIN:STANDARD"));
    }

    #[test]
    fn transitions_agree_with_the_tz_database_at_every_hour() {
        for tz in [
            chrono_tz::America::New_York,
            chrono_tz::Europe::London,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::Africa::Casablanca,
        ] {
            let (start, end) = (utc(2018, 1, 1), utc(2021, 1, 1));
            let changes = transitions(tz, start, end);
            let mut hour = start;
            while hour < end {
                let expected = observance_at(tz, hour);
                let ruled = changes
                    .iter()
                    .rev()
                    .find(|t| t.at <= hour)
                    .map_or_else(|| observance_at(tz, start), |t| t.to.clone());
                assert_eq!(ruled, expected, "{tz} at {hour}");
                hour += TimeDelta::hours(1);
            }
        }
    }

    #[test]
    fn offsets_are_written_with_sign_and_seconds_only_when_needed() {
        assert_eq!(utc_offset(8 * 3600), "+0800");
        assert_eq!(utc_offset(-(3 * 3600 + 1800)), "-0330");
        assert_eq!(utc_offset(5 * 3600 + 45 * 60), "+0545");
        assert_eq!(utc_offset(-(17 * 60 + 30)), "-001730");
        assert_eq!(utc_offset(0), "+0000");
    }
}
