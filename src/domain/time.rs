//! Times as users give them and as sessions hold them.
//!
//! Input is either an RFC 3339 instant with an offset or a local wall time read in a zone.
//! A session's schedule is timed (a window of instants) or all-day (a span of local dates);
//! either way it has UTC bounds, which is what storage and overlap queries use.

use chrono::{
    DateTime, Datelike, Days, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Timelike, Utc,
};

use super::field::FieldError;
use super::zone::Zone;

/// Earliest and latest years accepted anywhere: far enough for any real program, near
/// enough that every database and calendar client represents them the same way.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;
/// Longest session, in days.
pub const MAX_SESSION_DAYS: i64 = 366;

/// A time as given in a request, before it is read in a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeInput {
    /// RFC 3339 with an offset: an exact instant.
    Instant(DateTime<FixedOffset>),
    /// A wall time without an offset, to be read in the record's zone.
    Local(NaiveDateTime),
}

impl TimeInput {
    /// Parses `2019-05-28T09:00:00+08:00`, `2019-05-28T01:00:00Z`, `2019-05-28T09:00:00` or
    /// `2019-05-28T09:00`. Fractions of a second are dropped.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        if !well_formed(text) {
            return Err(not_a_time(field, text));
        }
        // RFC 3339 proper, or the same without seconds (2019-05-28T09:00+08:00).
        let instant = DateTime::parse_from_rfc3339(text).ok().or_else(|| {
            let zulu = text
                .strip_suffix('Z')
                .or_else(|| text.strip_suffix('z'))
                .map(|t| format!("{t}+00:00"));
            DateTime::parse_from_str(zulu.as_deref().unwrap_or(text), "%Y-%m-%dT%H:%M%:z").ok()
        });
        let parsed = if let Some(instant) = instant {
            Self::Instant(instant.with_nanosecond(0).unwrap_or(instant))
        } else {
            let local = [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .ok_or_else(|| not_a_time(field, text))?;
            Self::Local(local.with_nanosecond(0).unwrap_or(local))
        };
        let year = match parsed {
            Self::Instant(t) => t.naive_utc().year(),
            Self::Local(t) => t.year(),
        };
        if !YEARS.contains(&year) {
            return Err(out_of_range(field));
        }
        Ok(parsed)
    }

    /// Parses an instant that must carry its offset (filters and windows with no zone to read
    /// a local time in).
    pub fn instant(field: &str, text: &str) -> Result<DateTime<Utc>, FieldError> {
        match Self::parse(field, text)? {
            Self::Instant(at) => Ok(at.with_timezone(&Utc)),
            Self::Local(_) => Err(FieldError::new(
                field,
                "offset_required",
                "give an offset, e.g. 2019-05-28T00:00:00+08:00",
            )),
        }
    }

    /// The instant this input denotes when local times are read in `zone`.
    pub fn resolve(self, field: &str, zone: Zone) -> Result<DateTime<Utc>, FieldError> {
        match self {
            Self::Instant(t) => Ok(t.with_timezone(&Utc)),
            Self::Local(local) => match zone.tz().from_local_datetime(&local) {
                LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(_, _) => Err(FieldError::new(
                    field,
                    "ambiguous_local_time",
                    format!("{local} happens twice in {zone} (clocks go back); give an offset"),
                )),
                LocalResult::None => Err(FieldError::new(
                    field,
                    "nonexistent_local_time",
                    format!("{local} does not exist in {zone} (clocks go forward)"),
                )),
            },
        }
    }
}

/// Whether `text` starts with `YYYY-MM-DDTHH:MM`, every number with all its digits: the
/// date parsers accept single-digit fields, which would let typos through.
fn well_formed(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits_at = |range: std::ops::Range<usize>| bytes.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let seconds_ok = match bytes.get(16) {
        Some(b':') => digits_at(17..19),
        _ => true,
    };
    digits_at(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits_at(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits_at(8..10)
        && matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        && digits_at(11..13)
        && bytes.get(13) == Some(&b':')
        && digits_at(14..16)
        && seconds_ok
}

fn not_a_time(field: &str, text: &str) -> FieldError {
    FieldError::new(
        field,
        "invalid_time",
        format!(
            "{text:?} is not a time: use RFC 3339 with an offset (2019-05-28T09:00:00+08:00) \
             or a local time (2019-05-28T09:00:00) with time_zone"
        ),
    )
}

/// A validated date (used for all-day sessions and filters): within the supported years.
pub fn check_date(field: &str, date: NaiveDate) -> Result<NaiveDate, FieldError> {
    if YEARS.contains(&date.year()) {
        Ok(date)
    } else {
        Err(out_of_range(field))
    }
}

fn out_of_range(field: &str) -> FieldError {
    FieldError::new(
        field,
        "out_of_range",
        format!("must be between the years {} and {}", YEARS.start(), YEARS.end()),
    )
}

/// Two instants, the first strictly before the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TimeWindow {
    /// A window from `start` to `end`; `end` must come after `start`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, FieldError> {
        if end <= start {
            return Err(FieldError::new(
                "ends_at",
                "end_before_start",
                "must be after starts_at",
            ));
        }
        Ok(Self { start, end })
    }

    /// A window read back from storage, which only ever holds windows that passed [`Self::new`].
    pub fn from_stored(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end }
    }

    /// First instant.
    pub fn start(self) -> DateTime<Utc> {
        self.start
    }

    /// The instant just after the window.
    pub fn end(self) -> DateTime<Utc> {
        self.end
    }

    /// The window moved by `delta`.
    pub fn shifted(self, delta: TimeDelta) -> Self {
        Self {
            start: self.start + delta,
            end: self.end + delta,
        }
    }

    /// Whether the two windows share any instant (touching ends do not overlap).
    pub fn overlaps(self, other: Self) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// When a session happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// From one instant to another.
    Timed(TimeWindow),
    /// Whole local days, `first` to `last` inclusive.
    AllDay {
        /// First day.
        first: NaiveDate,
        /// Last day, inclusive.
        last: NaiveDate,
    },
}

/// A session's timing together with the zone its local times are shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    zone: Zone,
    timing: Timing,
}

/// The time fields of a create or update request, each possibly absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScheduleInput {
    /// `time_zone`.
    pub zone: Option<Zone>,
    /// `all_day`.
    pub all_day: Option<bool>,
    /// `starts_at`.
    pub starts_at: Option<TimeInput>,
    /// `ends_at`.
    pub ends_at: Option<TimeInput>,
    /// `start_date`.
    pub start_date: Option<NaiveDate>,
    /// `end_date`.
    pub end_date: Option<NaiveDate>,
}

impl ScheduleInput {
    /// Whether any time field is present.
    pub fn is_empty(&self) -> bool {
        self.zone.is_none()
            && self.all_day.is_none()
            && self.starts_at.is_none()
            && self.ends_at.is_none()
            && self.start_date.is_none()
            && self.end_date.is_none()
    }
}

impl Schedule {
    /// A schedule for a new session; `default_zone` (the venue's) applies when none is given.
    pub fn create(input: ScheduleInput, default_zone: Zone) -> Result<Self, Vec<FieldError>> {
        Self::build(None, input, default_zone)
    }

    /// This schedule with an update applied. Giving only `starts_at` moves a timed session
    /// and keeps its length; giving only `start_date` does the same for an all-day one.
    pub fn update(&self, input: ScheduleInput) -> Result<Self, Vec<FieldError>> {
        Self::build(Some(self), input, self.zone)
    }

    fn build(current: Option<&Self>, input: ScheduleInput, default_zone: Zone) -> Result<Self, Vec<FieldError>> {
        let zone = input.zone.unwrap_or(default_zone);
        let all_day = input
            .all_day
            .unwrap_or_else(|| current.is_some_and(|c| matches!(c.timing, Timing::AllDay { .. })));
        let mut problems = Vec::new();
        let mut refuse = |field: &str, message: &str| problems.push(FieldError::new(field, "not_allowed", message));
        if all_day {
            if input.starts_at.is_some() {
                refuse("starts_at", "all-day sessions take start_date and end_date");
            }
            if input.ends_at.is_some() {
                refuse("ends_at", "all-day sessions take start_date and end_date");
            }
        } else {
            if input.start_date.is_some() {
                refuse("start_date", "only all-day sessions take dates; use starts_at");
            }
            if input.end_date.is_some() {
                refuse("end_date", "only all-day sessions take dates; use ends_at");
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let timing = if all_day {
            Self::all_day_timing(current, &input)?
        } else {
            Self::timed_timing(current, &input, zone)?
        };
        let schedule = Self { zone, timing };
        let length = schedule.bounds().end() - schedule.bounds().start();
        if length > TimeDelta::days(MAX_SESSION_DAYS) {
            let field = if all_day { "end_date" } else { "ends_at" };
            return Err(vec![FieldError::new(
                field,
                "too_long",
                format!("a session lasts at most {MAX_SESSION_DAYS} days"),
            )]);
        }
        Ok(schedule)
    }

    fn all_day_timing(current: Option<&Self>, input: &ScheduleInput) -> Result<Timing, Vec<FieldError>> {
        let current_days = current.and_then(|c| match c.timing {
            Timing::AllDay { first, last } => Some((first, last)),
            Timing::Timed(_) => None,
        });
        let first = match (input.start_date, current_days, current) {
            (Some(date), _, _) => date,
            (None, Some((first, _)), _) => first,
            (None, None, Some(c)) => c.local_start().date_naive(),
            (None, None, None) => {
                return Err(vec![FieldError::new(
                    "start_date",
                    "required",
                    "all-day sessions need start_date",
                )]);
            }
        };
        let last = match (input.end_date, current_days) {
            (Some(date), _) => date,
            (None, Some((old_first, old_last))) if input.start_date.is_some() => first + (old_last - old_first),
            (None, Some((_, old_last))) => old_last,
            (None, None) => first,
        };
        if last < first {
            return Err(vec![FieldError::new(
                "end_date",
                "end_before_start",
                "must not be before start_date",
            )]);
        }
        Ok(Timing::AllDay { first, last })
    }

    fn timed_timing(current: Option<&Self>, input: &ScheduleInput, zone: Zone) -> Result<Timing, Vec<FieldError>> {
        let current_window = current.and_then(|c| match c.timing {
            Timing::Timed(w) => Some(w),
            Timing::AllDay { .. } => None,
        });
        let start = input.starts_at.map(|t| t.resolve("starts_at", zone));
        let end = input.ends_at.map(|t| t.resolve("ends_at", zone));
        let mut problems = Vec::new();
        let start = match (start, current_window) {
            (Some(Ok(t)), _) => Some(t),
            (Some(Err(e)), _) => {
                problems.push(e);
                None
            }
            (None, Some(w)) => Some(w.start()),
            (None, None) => {
                problems.push(FieldError::new(
                    "starts_at",
                    "required",
                    "timed sessions need starts_at",
                ));
                None
            }
        };
        let end = match (end, current_window, start) {
            (Some(Ok(t)), _, _) => Some(t),
            (Some(Err(e)), _, _) => {
                problems.push(e);
                None
            }
            // Only the start moved: keep the length.
            (None, Some(w), Some(s)) if input.starts_at.is_some() => Some(s + (w.end() - w.start())),
            (None, Some(w), _) => Some(w.end()),
            (None, None, _) => {
                problems.push(FieldError::new("ends_at", "required", "timed sessions need ends_at"));
                None
            }
        };
        match (start, end) {
            (Some(start), Some(end)) if problems.is_empty() => {
                TimeWindow::new(start, end).map(Timing::Timed).map_err(|e| vec![e])
            }
            _ => Err(problems),
        }
    }

    /// A schedule exactly as stored.
    pub fn from_stored(zone: Zone, timing: Timing) -> Self {
        Self { zone, timing }
    }

    /// The zone local times are shown in.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// Timed or all-day.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// The UTC bounds: the window itself, or the local midnights around the days.
    pub fn bounds(&self) -> TimeWindow {
        match self.timing {
            Timing::Timed(window) => window,
            Timing::AllDay { first, last } => TimeWindow {
                start: local_midnight(first, self.zone),
                end: local_midnight(last + Days::new(1), self.zone),
            },
        }
    }

    /// The start in the session's own zone.
    pub fn local_start(&self) -> DateTime<FixedOffset> {
        self.bounds().start().with_timezone(&self.zone.tz()).fixed_offset()
    }

    /// The end in the session's own zone.
    pub fn local_end(&self) -> DateTime<FixedOffset> {
        self.bounds().end().with_timezone(&self.zone.tz()).fixed_offset()
    }

    /// The schedule moved by `delta`; all-day schedules move by whole days only, so a
    /// shift of less than a day leaves them where they are.
    pub fn shifted(&self, delta: TimeDelta) -> Self {
        let timing = match self.timing {
            Timing::Timed(window) => Timing::Timed(window.shifted(delta)),
            Timing::AllDay { first, last } => {
                let days = delta.num_days();
                let move_by = |d: NaiveDate| d.checked_add_signed(TimeDelta::days(days)).unwrap_or(d);
                Timing::AllDay {
                    first: move_by(first),
                    last: move_by(last),
                }
            }
        };
        Self {
            zone: self.zone,
            timing,
        }
    }
}

/// The first instant of `date` in `zone` (midnight, or the first valid time after a gap).
fn local_midnight(date: NaiveDate, zone: Zone) -> DateTime<Utc> {
    let mut local = date.and_time(chrono::NaiveTime::MIN);
    // A zone may skip midnight when clocks go forward; step until the wall time exists.
    for _ in 0..24 * 4 {
        if let Some(t) = zone.tz().from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += TimeDelta::minutes(15);
    }
    Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
}

/// One end of a time window as a request gives it (`from`, `to`): a day, read in a zone the
/// request implies (the feed's, the program's), or an instant with its offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bound {
    /// From the start of this day.
    Day(NaiveDate),
    /// This instant.
    Instant(DateTime<Utc>),
}

impl Bound {
    /// Reads `2019-05-30` or `2019-05-30T09:00:00+08:00`, years 1970–9998.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let year_ok = |year: i32| (1970..=9998).contains(&year);
        if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            && year_ok(day.year())
        {
            return Ok(Self::Day(day));
        }
        match DateTime::parse_from_rfc3339(text) {
            Ok(at) if year_ok(at.year()) => Ok(Self::Instant(at.with_timezone(&Utc))),
            _ => Err(FieldError::new(
                field,
                "invalid_time",
                format!(
                    "{text:?} is not a day (2019-05-30) or an RFC 3339 time (2019-05-30T09:00:00+08:00) between 1970 and 9998"
                ),
            )),
        }
    }

    /// The instant it stands for, a day starting at midnight in `zone`.
    pub fn instant(self, zone: Zone) -> DateTime<Utc> {
        match self {
            Self::Instant(at) => at,
            Self::Day(day) => zone
                .tz()
                .from_local_datetime(&day.and_time(NaiveTime::MIN))
                .earliest()
                .map_or_else(|| day.and_time(NaiveTime::MIN).and_utc(), |t| t.with_timezone(&Utc)),
        }
    }

    /// Refuses a `to` that does not come after `from` (compared closely enough for bounds
    /// given together, before any zone is known).
    pub fn in_order(from: Option<Self>, to: Option<Self>) -> Result<(), FieldError> {
        let key = |bound: Self| match bound {
            Self::Day(day) => day.and_time(NaiveTime::MIN).and_utc(),
            Self::Instant(at) => at,
        };
        match (from, to) {
            (Some(from), Some(to)) if key(to) <= key(from) => {
                Err(FieldError::new("to", "before_from", "`to` must come after `from`"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> Zone {
        Zone::parse("tz", "Asia/Shanghai").unwrap()
    }

    fn at(text: &str) -> TimeInput {
        TimeInput::parse("t", text).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn an_instant_with_offset_and_the_same_local_time_in_its_zone_agree() {
        let with_offset = at("2019-05-28T09:00:00+08:00").resolve("t", shanghai()).unwrap();
        let in_utc = at("2019-05-28T01:00:00Z").resolve("t", shanghai()).unwrap();
        let local = at("2019-05-28T09:00").resolve("t", shanghai()).unwrap();
        assert_eq!(with_offset, utc("2019-05-28T01:00:00Z"));
        assert_eq!(in_utc, with_offset);
        assert_eq!(local, with_offset);
    }

    #[test]
    fn offsets_without_seconds_are_accepted() {
        let short = at("2019-05-28T09:00+08:00").resolve("t", shanghai()).unwrap();
        assert_eq!(short, utc("2019-05-28T01:00:00Z"));
        assert_eq!(at("2019-05-28T01:00Z").resolve("t", shanghai()).unwrap(), short);
    }

    #[test]
    fn garbage_and_far_years_are_refused() {
        assert_eq!(TimeInput::parse("t", "tomorrow").unwrap_err().code, "invalid_time");
        for sloppy in [
            "2019-5-28T09:00",
            "2019-05-28T9:00",
            "2019-05-28T09:0",
            "2019-05-28T09:00:0+08:00",
        ] {
            assert_eq!(
                TimeInput::parse("t", sloppy).unwrap_err().code,
                "invalid_time",
                "{sloppy}"
            );
        }
        assert_eq!(
            TimeInput::parse("t", "1800-01-01T00:00:00Z").unwrap_err().code,
            "out_of_range"
        );
    }

    #[test]
    fn local_times_in_a_daylight_saving_gap_or_fold_are_refused() {
        let new_york = Zone::parse("tz", "America/New_York").unwrap();
        let gap = at("2019-03-10T02:30").resolve("starts_at", new_york).unwrap_err();
        assert_eq!(gap.code, "nonexistent_local_time");
        let fold = at("2019-11-03T01:30").resolve("starts_at", new_york).unwrap_err();
        assert_eq!(fold.code, "ambiguous_local_time");
    }

    #[test]
    fn a_timed_schedule_needs_an_end_after_its_start() {
        let input = ScheduleInput {
            starts_at: Some(at("2019-05-28T11:00")),
            ends_at: Some(at("2019-05-28T09:00")),
            ..Default::default()
        };
        let err = Schedule::create(input, shanghai()).unwrap_err();
        assert_eq!(err[0].code, "end_before_start");
        assert_eq!(err[0].field, "ends_at");
    }

    #[test]
    fn an_all_day_span_is_bounded_by_local_midnights() {
        let input = ScheduleInput {
            all_day: Some(true),
            start_date: NaiveDate::from_ymd_opt(2019, 5, 25),
            end_date: NaiveDate::from_ymd_opt(2019, 5, 31),
            ..Default::default()
        };
        let schedule = Schedule::create(input, shanghai()).unwrap();
        assert_eq!(schedule.bounds().start(), utc("2019-05-24T16:00:00Z"));
        assert_eq!(schedule.bounds().end(), utc("2019-05-31T16:00:00Z"));
    }

    #[test]
    fn giving_only_a_new_start_moves_a_session_and_keeps_its_length() {
        let input = ScheduleInput {
            starts_at: Some(at("2019-05-30T09:00")),
            ends_at: Some(at("2019-05-30T11:30")),
            ..Default::default()
        };
        let schedule = Schedule::create(input, shanghai()).unwrap();
        let moved = schedule
            .update(ScheduleInput {
                starts_at: Some(at("2019-05-30T14:00")),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(moved.bounds().start(), utc("2019-05-30T06:00:00Z"));
        assert_eq!(moved.bounds().end(), utc("2019-05-30T08:30:00Z"));
    }

    #[test]
    fn dates_on_a_timed_session_and_instants_on_an_all_day_one_are_refused() {
        let timed = ScheduleInput {
            starts_at: Some(at("2019-05-30T09:00")),
            ends_at: Some(at("2019-05-30T11:30")),
            start_date: NaiveDate::from_ymd_opt(2019, 5, 30),
            ..Default::default()
        };
        assert_eq!(Schedule::create(timed, shanghai()).unwrap_err()[0].field, "start_date");
        let all_day = ScheduleInput {
            all_day: Some(true),
            start_date: NaiveDate::from_ymd_opt(2019, 5, 30),
            starts_at: Some(at("2019-05-30T09:00")),
            ..Default::default()
        };
        assert_eq!(Schedule::create(all_day, shanghai()).unwrap_err()[0].field, "starts_at");
    }

    #[test]
    fn sessions_longer_than_a_year_are_refused() {
        let input = ScheduleInput {
            all_day: Some(true),
            start_date: NaiveDate::from_ymd_opt(2019, 1, 1),
            end_date: NaiveDate::from_ymd_opt(2020, 6, 1),
            ..Default::default()
        };
        assert_eq!(Schedule::create(input, shanghai()).unwrap_err()[0].code, "too_long");
    }

    #[test]
    fn touching_windows_do_not_overlap() {
        let a = TimeWindow::new(utc("2019-05-30T01:00:00Z"), utc("2019-05-30T02:00:00Z")).unwrap();
        let b = TimeWindow::new(utc("2019-05-30T02:00:00Z"), utc("2019-05-30T03:00:00Z")).unwrap();
        assert!(!a.overlaps(b));
        assert!(a.overlaps(a.shifted(TimeDelta::minutes(30))));
    }
}
