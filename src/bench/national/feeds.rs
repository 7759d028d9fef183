//! Calendar feeds at national size: the program, the organization tree, the largest team, a
//! busy venue and one volunteer, each asked once cold, then loaded with cached `200`s and
//! with `304`s; windows of one day beside the feeds too large to serve whole; and two
//! subscribers of one feed who ask from different times.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{Days, NaiveDate};
use entity::prelude::{Session, TeamMembership};
use entity::{session, team_membership};
use reqwest::header::{CONTENT_TYPE, IF_NONE_MATCH};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _};

use super::super::load::{self, Limits};
use super::report::{Row, bytes};
use super::{DataSet, Options};
use crate::db::Db;
use crate::domain::text::thousands;

/// A cached `200` load reads at most this many bytes of bodies, so a feed of tens of
/// megabytes is asked a few dozen times, not thousands.
const BODY_BUDGET: u64 = 512 * 1024 * 1024;

/// Longer than the service's default `--feed-recheck-ms`, after which an ETag is checked
/// against the database again.
const RECHECK: Duration = Duration::from_millis(1_100);

/// A feed to measure.
struct Feed {
    label: String,
    path: String,
}

/// What the first request for a feed came to.
struct First {
    status: u16,
    took: Duration,
    body: Vec<u8>,
    etag: Option<String>,
    problem: bool,
}

/// The feeds of the data set: each whole, and the large ones over one day in the middle.
async fn feeds(db: &Db, data: &DataSet) -> anyhow::Result<Vec<Feed>> {
    let conn = db.reader();
    let program = data.generated.program_id;
    let (team, members): (i64, i64) = TeamMembership::find()
        .select_only()
        .column(team_membership::Column::TeamId)
        .column_as(team_membership::Column::VolunteerId.count(), "members")
        .group_by(team_membership::Column::TeamId)
        .order_by_desc(team_membership::Column::VolunteerId.count())
        .into_tuple()
        .one(conn)
        .await?
        .context("the data set has no team with members")?;
    let (venue, sessions): (i64, i64) = Session::find()
        .select_only()
        .column(session::Column::VenueId)
        .column_as(session::Column::Id.count(), "sessions")
        .filter(session::Column::ProgramId.eq(program))
        .group_by(session::Column::VenueId)
        .order_by_desc(session::Column::Id.count())
        .into_tuple()
        .one(conn)
        .await?
        .context("the data set has no session")?;
    let token = super::super::feeds::tokens_with_assignments(db, 1)
        .await?
        .pop()
        .context("no volunteer of the data set has an assignment")?;
    let day = middle_day(data);
    let window = format!("?from={day}&to={}", day + Days::new(1));
    let organization = data.generated.root_organization_id;
    let feed = |label: String, path: String| Feed { label, path };
    Ok(vec![
        feed("program feed".into(), format!("/feeds/programs/{program}.ics")),
        feed(
            "organization-subtree feed".into(),
            format!("/feeds/organizations/{organization}.ics"),
        ),
        feed(
            format!("team feed ({members} members)"),
            format!("/feeds/teams/{team}.ics"),
        ),
        feed(
            format!("venue feed ({sessions} sessions)"),
            format!("/feeds/venues/{venue}.ics"),
        ),
        feed("personal feed".into(), format!("/feeds/volunteers/{token}.ics")),
        feed(
            format!("program feed, {day} only"),
            format!("/feeds/programs/{program}.ics{window}"),
        ),
        feed(
            format!("organization-subtree feed, {day} only"),
            format!("/feeds/organizations/{organization}.ics{window}"),
        ),
        feed(
            format!("team feed, {day} only"),
            format!("/feeds/teams/{team}.ics{window}"),
        ),
    ])
}

/// The program's middle day.
fn middle_day(data: &DataSet) -> NaiveDate {
    let span = (data.last_day - data.first_day).num_days().max(0);
    data.first_day + Days::new(u64::try_from(span / 2).unwrap_or(0))
}

/// Measures every feed, then the two-subscriber case, on the service at `base`.
pub async fn measure(db: &Db, data: &DataSet, base: &str, options: &Options) -> anyhow::Result<Vec<Row>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.workers)
        .build()?;
    let mut rows = Vec::new();
    let mut revalidate = Vec::new();
    for feed in feeds(db, data).await? {
        eprintln!("  {}", feed.label);
        let url = format!("{base}{}", feed.path);
        let first = first(&client, &url).await?;
        let events = count_events(&first.body);
        let row = Row {
            requests: Some(1),
            median: Some(first.took),
            size: Some(first.body.len() as u64),
            ..Row::new(format!("{}: first request", feed.label))
        };
        if first.status != 200 {
            // A feed over the event cap is refused with a problem naming narrower feeds: what
            // the service should do, so it is reported, not taken for a failure here.
            let kind = if first.problem && (400..500).contains(&first.status) {
                "refused"
            } else {
                "failed"
            };
            let said = problem_text(&first.body);
            rows.push(row.noting(format!("{kind}: {} {said}", first.status)));
            continue;
        }
        rows.push(row.noting(format!("200, {} events", thousands(events))));
        let size = first.body.len().max(1) as u64;
        let requests = options
            .requests
            .min(usize::try_from(BODY_BUDGET / size).unwrap_or(usize::MAX).max(5));
        let limits = Limits {
            requests,
            workers: options.workers,
            time: options.seconds,
        };
        let (get, to) = (client.clone(), url.clone());
        let cached = load::drive(limits, move |_| get.get(&to).send()).await;
        rows.push(Row::load(format!("{}: cached 200", feed.label), &cached, 200));
        let Some(etag) = first.etag else {
            rows.push(Row::new(format!("{}: 304", feed.label)).noting("no ETag to revalidate with"));
            continue;
        };
        let limits = Limits {
            requests: options.requests,
            ..limits
        };
        let (get, to, tag) = (client.clone(), url.clone(), etag.clone());
        let fresh = load::drive(limits, move |_| get.get(&to).header(IF_NONE_MATCH, &tag).send()).await;
        revalidate.push((rows.len(), url, etag));
        rows.push(Row::load(format!("{}: 304", feed.label), &fresh, 304));
    }
    // A subscriber that polls after the ETag was last checked pays for checking it again.
    tokio::time::sleep(RECHECK).await;
    for (at, url, etag) in revalidate {
        let sent = Instant::now();
        let status = client.get(&url).header(IF_NONE_MATCH, &etag).send().await?.status();
        let took = sent.elapsed();
        let note = format!(
            "after {} ms idle: {status}, {}",
            RECHECK.as_millis(),
            super::report::millis(took)
        );
        rows[at] = std::mem::take(&mut rows[at]).noting(note);
    }
    rows.extend(two_subscribers(&client, data, base, options).await);
    Ok(rows)
}

/// Two subscribers of the program feed asking from different times, in turn: two times of
/// one day, then two days.
async fn two_subscribers(client: &reqwest::Client, data: &DataSet, base: &str, options: &Options) -> Vec<Row> {
    let last = data.last_day;
    let before = last - Days::new(1);
    let url = format!("{base}/feeds/programs/{}.ics", data.generated.program_id);
    let cases = [
        (
            format!("program feed, two subscribers: from= {last} 09:00 and 14:00"),
            [format!("{last}T09:00:00%2B08:00"), format!("{last}T14:00:00%2B08:00")],
        ),
        (
            format!("program feed, two subscribers: from= {before} and {last}"),
            [before.to_string(), last.to_string()],
        ),
    ];
    let mut rows = Vec::new();
    for (label, froms) in cases {
        eprintln!("  {label}");
        let limits = Limits {
            requests: options.alternating,
            workers: 1,
            time: options.seconds * 4,
        };
        let (get, to) = (client.clone(), url.clone());
        let sample = load::drive(limits, move |i| get.get(format!("{to}?from={}", froms[i % 2])).send()).await;
        rows.push(Row::load(label, &sample, 200).noting("alternating, no If-None-Match"));
    }
    rows
}

/// One unconditional request, timed, with the whole body read.
async fn first(client: &reqwest::Client, url: &str) -> anyhow::Result<First> {
    let sent = Instant::now();
    let response = client.get(url).send().await?;
    let status = response.status().as_u16();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = header(reqwest::header::ETAG);
    let problem = header(CONTENT_TYPE).is_some_and(|t| t.starts_with("application/problem+json"));
    let body = response.bytes().await?.to_vec();
    Ok(First {
        status,
        took: sent.elapsed(),
        body,
        etag,
        problem,
    })
}

/// The events in a calendar.
fn count_events(body: &[u8]) -> u64 {
    let needle = b"BEGIN:VEVENT";
    body.windows(needle.len()).filter(|w| w == needle).count() as u64
}

/// A problem's title and detail, or the start of a body that is none.
fn problem_text(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(problem) => {
            let field = |name: &str| problem[name].as_str().unwrap_or_default().to_owned();
            format!("{} {}", field("title"), field("detail")).trim().to_owned()
        }
        Err(_) => format!(
            "{} ({})",
            String::from_utf8_lossy(&body[..body.len().min(120)]),
            bytes(body.len() as u64)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_and_problems_quoted() {
        let calendar =
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(count_events(calendar), 2);
        let problem = br#"{"title": "Too many events", "detail": "ask for a narrower feed"}"#;
        assert_eq!(problem_text(problem), "Too many events ask for a narrower feed");
    }
}
