//! A feed's rows as an iCalendar document.
//!
//! The calendar's own properties are built with the `icalendar` crate's model; events, which
//! a feed has by the thousand, are written straight to [`super::ics::Writer`], property by
//! property, and the `VTIMEZONE` blocks come from [`super::zones`]. A render is a pure function of its input:
//! every stamp comes from the data, so unchanged data renders to the same bytes.

use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike as _, Days, DurationRound as _, NaiveDate, NaiveDateTime, TimeDelta, TimeZone as _,
    Timelike as _, Utc,
};
use icalendar::{Calendar, Property};

use super::ics::{self, Writer};
use super::zones;
use crate::domain::notice::instant_text;
use crate::domain::notice::{is_active, status_text};
use crate::domain::reminder;
use crate::domain::zone::Zone;
use crate::store::feeds::{AssignmentPart, DeadlineRow, EventRow};
use crate::store::sessions::StoredTimes;

/// The `PRODID` of every feed.
pub const PRODID: &str = concat!("-//sciday//sciday ", env!("CARGO_PKG_VERSION"), "//ZH");

/// How often clients should poll, as `REFRESH-INTERVAL` and `X-PUBLISHED-TTL`.
pub const REFRESH: &str = "PT1H";

/// What a calendar says about itself.
#[derive(Clone, Debug)]
pub struct CalendarInfo {
    /// `NAME` and `X-WR-CALNAME`.
    pub name: String,
    /// `DESCRIPTION` and `X-WR-CALDESC`.
    pub description: Option<String>,
    /// `X-WR-TIMEZONE`: the zone most of its events are in.
    pub time_zone: String,
    /// `SOURCE`: where the feed is fetched from.
    pub source: String,
    /// Plan deadlines it shows besides the sessions (organizations' feeds).
    pub deadlines: Vec<DeadlineRow>,
}

/// Who a feed is for, which decides what its events carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Anyone: the sessions only.
    Public,
    /// A team: the sessions its members serve at, with how many of them.
    Team,
    /// One volunteer: their assignments, with role and status.
    Personal,
}

/// How a feed is rendered.
#[derive(Clone, Debug)]
pub struct Options {
    /// Who it is for.
    pub audience: Audience,
    /// Reminders, as times before the start; none for cancelled events.
    pub alarms: Vec<TimeDelta>,
    /// The domain part of every `UID`.
    pub uid_domain: String,
    /// Where the service is reached, for session links.
    pub public_url: String,
}

/// One event: a session, or a volunteer's assignment to it, or a team's share of it.
pub struct Item<'a> {
    /// The session's row (the first, for a team's share).
    pub row: &'a EventRow,
    /// The team's assignments to the session (team feeds) or the volunteer's one.
    pub assignments: Vec<&'a AssignmentPart>,
    changed: DateTime<Utc>,
}

/// Groups a team feed's rows (one per assignment) into one item per session.
pub fn items(rows: &[EventRow], audience: Audience) -> Vec<Item<'_>> {
    let mut items: Vec<Item<'_>> = Vec::with_capacity(rows.len());
    for row in rows {
        if audience == Audience::Team
            && let Some(last) = items.last_mut()
            && last.row.id == row.id
        {
            last.assignments.extend(row.assignment.as_ref());
            last.changed = last.changed.max(row.changed);
            continue;
        }
        items.push(Item {
            row,
            assignments: row.assignment.iter().collect(),
            changed: row.changed,
        });
    }
    items
}

fn kind_text(kind: &str) -> &'static str {
    match kind {
        "main" => "主场活动",
        _ => "系列活动",
    }
}

/// `20190530T090000`: a local date and time, or with `Z` a UTC one.
fn date_time_text(at: NaiveDateTime, utc: bool) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}{}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        if utc { "Z" } else { "" }
    )
}

fn date_text(day: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", day.year(), day.month(), day.day())
}

/// `DTSTART`/`DTEND` as local times with `TZID`, or as dates for all-day sessions (with
/// `DTEND` the day after the last day). A session whose start or end falls in the hour a
/// daylight-saving change repeats is written in UTC: parsers resolve such a local time
/// differently (Python's `icalendar` takes the second, libical the first), an instant in UTC
/// they all read alike.
fn write_times(writer: &mut Writer, row: &EventRow) {
    let times = &row.times;
    if let (true, Some(first), Some(last)) = (times.all_day, times.start_date, times.end_date) {
        let after = last.checked_add_days(Days::new(1)).unwrap_or(last);
        writer.property("DTSTART", [("VALUE", "DATE")], &date_text(first));
        writer.property("DTEND", [("VALUE", "DATE")], &date_text(after));
        return;
    }
    let zone = Zone::from_stored(&times.time_zone);
    let tz = zone.tz();
    let in_utc = !local_times_are_plain(times);
    for (name, at) in [("DTSTART", times.starts_at), ("DTEND", times.ends_at)] {
        if in_utc {
            writer.property(name, [], &date_time_text(at.naive_utc(), true));
        } else {
            let local = at.with_timezone(&tz).naive_local();
            writer.property(name, [("TZID", zone.name())], &date_time_text(local, false));
        }
    }
}

/// Whether a timed session's start and end each name one instant as local times in its zone
/// (neither falls in an hour a daylight-saving change repeats).
fn local_times_are_plain(times: &StoredTimes) -> bool {
    let tz = Zone::from_stored(&times.time_zone).tz();
    [times.starts_at, times.ends_at].into_iter().all(|at| {
        matches!(
            tz.from_local_datetime(&at.with_timezone(&tz).naive_local()),
            chrono::LocalResult::Single(_)
        )
    })
}

fn title(row: &EventRow) -> &str {
    row.title.as_deref().unwrap_or(&row.activity_title)
}

/// An event's `STATUS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Confirmed,
    Tentative,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Tentative => "TENTATIVE",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// The event's status, from the session and, where there is one, the assignments.
fn status(item: &Item<'_>, audience: Audience) -> Status {
    if item.row.cancelled {
        return Status::Cancelled;
    }
    match audience {
        Audience::Public => Status::Confirmed,
        // The session goes ahead whoever serves; a team that withdrew says so in the description.
        Audience::Team => Status::Confirmed,
        Audience::Personal => match item.assignments.first().map(|a| a.status.as_str()) {
            Some("proposed") => Status::Tentative,
            Some(status) if is_active(status) => Status::Confirmed,
            _ => Status::Cancelled,
        },
    }
}

fn summary(item: &Item<'_>, audience: Audience, status: Status) -> String {
    let title = title(item.row);
    let mut text = match status {
        Status::Cancelled => format!("【已取消】{title}"),
        Status::Tentative => format!("【待确认】{title}"),
        Status::Confirmed => title.to_owned(),
    };
    if audience == Audience::Personal
        && let Some(assignment) = item.assignments.first()
    {
        text.push('（');
        text.push_str(&assignment.role);
        text.push('）');
    }
    text
}

fn location(row: &EventRow) -> String {
    match row.venue_address.as_deref() {
        Some(address) if !address.is_empty() => format!("{}，{address}", row.venue_name),
        _ => row.venue_name.clone(),
    }
}

/// The session's video link: its own, or that of the slot it follows.
fn video_url(row: &EventRow) -> Option<&str> {
    row.video_url.as_deref().or(row.slot_video_url.as_deref())
}

fn description(item: &Item<'_>, audience: Audience) -> String {
    let row = item.row;
    let mut lines: Vec<String> = Vec::new();
    if let Some(text) = row.description.as_deref().filter(|t| !t.is_empty()) {
        lines.push(text.to_owned());
    }
    if row.title.is_some() {
        lines.push(format!("活动：{}", row.activity_title));
    }
    if let Some(text) = row.activity_description.as_deref().filter(|t| !t.is_empty()) {
        lines.push(text.to_owned());
    }
    lines.push(format!("地点：{}", location(row)));
    lines.push(format!("主办：{}", row.organizer_name));
    let contact: Vec<&str> = [&row.contact_name, &row.contact_office_phone, &row.contact_email]
        .into_iter()
        .filter_map(|part| part.as_deref())
        .filter(|part| !part.is_empty())
        .collect();
    if !contact.is_empty() {
        lines.push(format!("联系：{}", contact.join(" ")));
    }
    if let Some(url) = video_url(row) {
        lines.push(format!("视频连线：{url}"));
    }
    match audience {
        Audience::Public => {}
        Audience::Personal => {
            if let Some(assignment) = item.assignments.first() {
                lines.push(format!("岗位：{}", assignment.role));
                lines.push(format!("状态：{}", status_text(&assignment.status)));
            }
        }
        Audience::Team => {
            // Counts per role only: a team feed names no volunteer.
            let mut roles: BTreeMap<&str, usize> = BTreeMap::new();
            for assignment in item.assignments.iter().filter(|a| is_active(&a.status)) {
                *roles.entry(assignment.role.as_str()).or_default() += 1;
            }
            let total: usize = roles.values().sum();
            let parts: Vec<String> = roles.iter().map(|(role, n)| format!("{role} {n} 人")).collect();
            if parts.is_empty() && !item.assignments.is_empty() {
                lines.push("本队志愿者：0 人（本队已退出此场次：志愿者已请假或安排已取消；活动照常举行）".to_owned());
            } else if parts.is_empty() {
                lines.push("本队志愿者：0 人".to_owned());
            } else {
                lines.push(format!("本队志愿者：{total} 人（{}）", parts.join("，")));
            }
        }
    }
    lines.join("\n")
}

fn sequence(item: &Item<'_>, audience: Audience) -> u32 {
    let assignments: i64 = match audience {
        Audience::Public => 0,
        _ => item.assignments.iter().map(|a| i64::from(a.version)).sum(),
    };
    u32::try_from(i64::from(item.row.sequence) + assignments).unwrap_or(0)
}

/// One `VEVENT`, its properties in a fixed order: identity and time first, then the others
/// by name, then the reminders.
fn write_event(writer: &mut Writer, item: &Item<'_>, options: &Options) {
    let row = item.row;
    let audience = options.audience;
    let uid = match (audience, item.assignments.first()) {
        (Audience::Personal, Some(assignment)) => format!("assignment-{}@{}", assignment.id, options.uid_domain),
        _ => format!("session-{}@{}", row.id, options.uid_domain),
    };
    let status = status(item, audience);
    let summary = summary(item, audience, status);
    let changed = date_time_text(item.changed.naive_utc(), true);
    let video = video_url(row);

    writer.begin("VEVENT");
    writer.property("UID", [], &uid);
    writer.property("DTSTAMP", [], &changed);
    write_times(writer, row);
    let categories = std::iter::once(kind_text(&row.activity_kind)).chain(row.service_kinds.iter().map(String::as_str));
    writer.property("CATEGORIES", [], &ics::text_list(categories));
    if let Some(url) = video {
        writer.property(
            "CONFERENCE",
            [("VALUE", "URI"), ("FEATURE", "VIDEO"), ("LABEL", "视频连线")],
            url,
        );
    }
    writer.property("DESCRIPTION", [], &description(item, audience));
    if let Some((latitude, longitude)) = row.geo {
        writer.property("GEO", [], &format!("{latitude};{longitude}"));
    }
    writer.property("LAST-MODIFIED", [], &changed);
    writer.property("LOCATION", [], &location(row));
    writer.property("SEQUENCE", [], &sequence(item, audience).to_string());
    writer.property("STATUS", [], status.as_str());
    writer.property("SUMMARY", [], &summary);
    // The session's page, where everything about it is; a session of an activity that is not
    // public has none (its video link is in CONFERENCE and the description).
    if row.activity_public {
        writer.property("URL", [], &crate::web::session_url(&options.public_url, row.id));
    }
    if status != Status::Cancelled {
        write_alarms(writer, &summary, &options.alarms);
    }
    writer.end("VEVENT");
}

/// A display reminder `before` each event's start, saying its summary.
fn write_alarms(writer: &mut Writer, summary: &str, alarms: &[TimeDelta]) {
    for before in alarms {
        writer.begin("VALARM");
        writer.property("ACTION", [], "DISPLAY");
        writer.property("DESCRIPTION", [], summary);
        writer.property("TRIGGER", [], &reminder::format_duration(-*before));
        writer.end("VALARM");
    }
}

/// Zones the events use, each with the span of time its `VTIMEZONE` has to cover.
fn zones_used<'a>(
    times: impl Iterator<Item = &'a StoredTimes>,
    deadlines: &'a [DeadlineRow],
) -> BTreeMap<&'a str, (DateTime<Utc>, DateTime<Utc>)> {
    let mut spans: BTreeMap<&str, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    let timed = times
        .filter(|t| !t.all_day && local_times_are_plain(t))
        .map(|t| (t.time_zone.as_str(), t.starts_at, t.ends_at))
        .chain(deadlines.iter().map(|d| {
            let (start, end) = deadline_span(d.due);
            (d.time_zone.as_str(), start, end)
        }));
    for (zone, start, end) in timed {
        let span = spans.entry(zone).or_insert((start, end));
        span.0 = span.0.min(start);
        span.1 = span.1.max(end);
    }
    spans
}

/// A deadline as an event: the minute its last second falls in (23:59 to 00:00 for a
/// deadline of 23:59:59), so every client shows it at the right time and none as zero-length.
fn deadline_span(due: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = due.duration_trunc(TimeDelta::minutes(1)).unwrap_or(due);
    (start, start + TimeDelta::minutes(1))
}

/// One plan deadline as a `VEVENT` that blocks no time.
fn write_deadline(writer: &mut Writer, deadline: &DeadlineRow, options: &Options) {
    let zone = Zone::from_stored(&deadline.time_zone);
    let (start, end) = deadline_span(deadline.due);
    let changed = date_time_text(deadline.changed.naive_utc(), true);
    let link = format!("{}/api/v1/programs/{}/plans", options.public_url, deadline.program_id);
    let (summary, what) = if deadline.host {
        (
            format!("筹备工作方案收取截止：{}", deadline.program),
            "收取各县区科协和市级学会的",
        )
    } else {
        (format!("筹备工作方案提交截止：{}", deadline.program), "提交")
    };
    let lines = [
        format!(
            "{}前{what}《筹备工作方案》（附件1，盖章PDF和Word文件）。",
            instant_text(deadline.due, zone, true)
        ),
        format!("提交入口：{link}"),
    ];

    writer.begin("VEVENT");
    writer.property(
        "UID",
        [],
        &format!(
            "plan-deadline-{}-{}@{}",
            deadline.program_id, deadline.organization_id, options.uid_domain
        ),
    );
    writer.property("DTSTAMP", [], &changed);
    for (name, at) in [("DTSTART", start), ("DTEND", end)] {
        let local = at.with_timezone(&zone.tz()).naive_local();
        writer.property(name, [("TZID", zone.name())], &date_time_text(local, false));
    }
    writer.property("CATEGORIES", [], "截止日期");
    writer.property("DESCRIPTION", [], &lines.join("\n"));
    writer.property("LAST-MODIFIED", [], &changed);
    writer.property("SEQUENCE", [], &deadline.sequence.max(0).to_string());
    writer.property("STATUS", [], "CONFIRMED");
    writer.property("SUMMARY", [], &summary);
    writer.property("TRANSP", [], "TRANSPARENT");
    writer.property("URL", [], &link);
    write_alarms(writer, &summary, &options.alarms);
    writer.end("VEVENT");
}

/// The whole feed.
pub fn render(info: &CalendarInfo, rows: &[EventRow], options: &Options) -> String {
    let mut writer = head(info, rows.iter().map(|r| &r.times), rows.len());
    for item in items(rows, options.audience) {
        write_event(&mut writer, &item, options);
    }
    tail(writer, info, options)
}

/// The calendar up to its first event: its own properties, and a `VTIMEZONE` for each zone
/// the events at `times` (and the deadlines) use. `events` sizes the buffer.
pub fn head<'a>(info: &'a CalendarInfo, times: impl Iterator<Item = &'a StoredTimes>, events: usize) -> Writer {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(("VERSION", "2.0"))
        .append_property(("PRODID", PRODID))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("NAME", info.name.as_str()))
        .append_property(("X-WR-CALNAME", info.name.as_str()));
    if let Some(description) = &info.description {
        calendar
            .append_property(("DESCRIPTION", description.as_str()))
            .append_property(("X-WR-CALDESC", description.as_str()));
    }
    calendar
        .append_property(("X-WR-TIMEZONE", info.time_zone.as_str()))
        .append_property(
            Property::new("REFRESH-INTERVAL", REFRESH)
                .add_parameter("VALUE", "DURATION")
                .done(),
        )
        .append_property(("X-PUBLISHED-TTL", REFRESH))
        .append_property(
            Property::new("SOURCE", info.source.as_str())
                .add_parameter("VALUE", "URI")
                .done(),
        );

    let mut writer = Writer::with_capacity(1024 + events * 900);
    writer.begin("VCALENDAR");
    for property in &calendar.properties {
        writer.crate_property(property);
    }
    for (zone, (start, end)) in zones_used(times, &info.deadlines) {
        zones::write_vtimezone(&mut writer, Zone::from_stored(zone).tz(), start, end);
    }
    writer
}

/// One event's text, as [`render`] writes it.
pub fn event(item: &Item<'_>, options: &Options) -> String {
    let mut writer = Writer::with_capacity(1024);
    write_event(&mut writer, item, options);
    writer.finish()
}

/// The rest of the calendar after its events: the plan deadlines, and the end.
pub fn tail(mut writer: Writer, info: &CalendarInfo, options: &Options) -> String {
    for deadline in &info.deadlines {
        write_deadline(&mut writer, deadline, options);
    }
    writer.end("VCALENDAR");
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_written_digit_by_digit() {
        let at = NaiveDate::from_ymd_opt(2019, 5, 30)
            .and_then(|d| d.and_hms_opt(9, 5, 7))
            .expect("valid");
        assert_eq!(date_time_text(at, false), "20190530T090507");
        assert_eq!(date_time_text(at, true), "20190530T090507Z");
        assert_eq!(date_text(at.date()), "20190530");
    }
}
