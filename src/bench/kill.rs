//! `sciday bench webhooks --kill`: reminders through real `sciday serve` processes, one of
//! which is killed with SIGKILL in the middle of each of two bursts.
//!
//! Two `standard` subscriptions get one reminder per session each (offsets PT3M and PT1M), so
//! the reminders come in two bursts two minutes apart. Two processes share a PostgreSQL
//! database (on SQLite, one process); in each burst the first is killed while it holds claims,
//! and restarted under the same identity once its claims were taken over (on SQLite, at once:
//! it takes them back itself). A receiver on loopback, answering after a short delay so sends
//! are in flight at the kill, counts what arrives by subscription and session; the delivery
//! log is read back afterwards.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, DurationRound as _, SecondsFormat, TimeDelta, Utc};
use futures_util::StreamExt as _;
use sea_orm::{ConnectionTrait as _, FromQueryResult, Statement};
use serde_json::json;

use super::serving::Serving;
use super::webhooks::{Api, count};
use crate::db::{DatabaseUrl, Db};

/// How the scenario runs.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Reminders per subscription (sessions).
    pub reminders: usize,
    /// Time over which a burst's reminders fall due.
    pub spread: Duration,
    /// How long the receiver takes to answer.
    pub answer_after: Duration,
    /// The processes' `--delivery-takeover-secs`.
    pub takeover_secs: u64,
    /// Processes sharing the database.
    pub instances: usize,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            reminders: 2000,
            spread: Duration::from_secs(20),
            answer_after: Duration::from_millis(300),
            takeover_secs: 15,
            instances: 2,
        }
    }
}

/// One kill.
#[derive(Clone, Copy, Debug)]
pub struct Kill {
    /// When, after the first reminder fell due.
    pub at: Duration,
    /// Claims the process held (sent or about to be) and never recorded.
    pub in_flight: i64,
    /// From the kill until none of its claims was left.
    pub takeover: Duration,
}

/// What the scenario came to.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Reminders enqueued.
    pub reminders: usize,
    /// Reminders that never arrived.
    pub lost: usize,
    /// Of those, reminders whose deadline was more than 30 s after every kill before it.
    pub lost_with_time: usize,
    /// Arrivals beyond each reminder's first.
    pub duplicated: usize,
    /// Reminders the delivery log shows in doubt (an attempt whose answer was lost).
    pub in_doubt: usize,
    /// Of those, reminders settled `in_doubt` (their deadline passed before a repeat).
    pub settled_in_doubt: usize,
    /// Reminders logged `expired`.
    pub expired: usize,
    /// Of those, reminders the receiver got all the same.
    pub expired_received: usize,
    /// Arrivals after their session had started.
    pub after_start: usize,
    /// The kills.
    pub kills: Vec<Kill>,
}

impl Report {
    /// Claims in flight at the kills, together.
    pub fn in_flight(&self) -> i64 {
        self.kills.iter().map(|k| k.in_flight).sum()
    }
}

#[derive(FromQueryResult)]
struct Row {
    webhook_id: i64,
    session_id: Option<i64>,
    deadline: Option<DateTime<Utc>>,
    status: String,
    maybe_sent: bool,
}

/// Runs the scenario with `exe` as the service, on the database at `url`, set up through the
/// API at `api_base` with an admin `token`.
pub async fn run(
    db: &Db,
    url: &DatabaseUrl,
    exe: PathBuf,
    api_base: &str,
    token: &str,
    scenario: &Scenario,
) -> anyhow::Result<Report> {
    let api = Api::new(api_base, token);
    let (receiver, arrivals) = super::receiver::start(scenario.answer_after).await?;
    let tag = format!("kill-{}", Utc::now().timestamp_micros());
    let made = api.program(&tag).await?;
    let mut webhooks = Vec::new();
    for (path, offset) in [("3m", "PT3M"), ("1m", "PT1M")] {
        let id = api
            .post(
                "/api/v1/webhooks",
                json!({"organization_id": made.organization, "url": format!("http://{receiver}/{tag}/{path}"),
                       "format": "standard", "scope": {"kind": "program", "id": made.program},
                       "events": ["session.reminder"], "offsets": [offset]}),
            )
            .await?;
        webhooks.push((format!("/{tag}/{path}"), id));
    }
    // The first burst falls due once the sessions are made, on a whole second.
    let setup = Duration::from_secs(10) + Duration::from_millis(10 * scenario.reminders as u64);
    let first_due = (Utc::now() + TimeDelta::from_std(setup)?).duration_trunc(TimeDelta::seconds(1))?;
    let spread_secs = i64::try_from(scenario.spread.as_secs().max(1))?;
    let n = i64::try_from(scenario.reminders.max(1))?;
    let starts: Vec<DateTime<Utc>> = (0..n)
        .map(|i| first_due + TimeDelta::minutes(3) + TimeDelta::seconds(i * spread_secs / n))
        .collect();
    let sessions = futures_util::stream::iter(starts.iter().map(|start| {
        api.post(
            "/api/v1/sessions",
            json!({"activity_id": made.activity, "venue_id": made.venue,
                   "starts_at": start.to_rfc3339_opts(SecondsFormat::Secs, true),
                   "ends_at": (*start + TimeDelta::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true)}),
        )
    }))
    .buffer_unordered(8)
    .collect::<Vec<_>>()
    .await;
    sessions.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let ids = webhooks
        .iter()
        .map(|(_, id)| id.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let ours = format!("deliveries WHERE webhook_id IN ({ids})");
    let enqueued = usize::try_from(count(db, &ours).await?)?;
    if enqueued < 2 * scenario.reminders || Utc::now() >= first_due {
        bail!("setting up took longer than {setup:?} (the machine is busy): {enqueued} reminders enqueued");
    }
    eprintln!(
        "{enqueued} reminders in two bursts from {first_due}; {} process(es), takeover after {} s",
        scenario.instances, scenario.takeover_secs
    );

    let victim = "bench-kill-a";
    let mut running = vec![start(&exe, url, victim, scenario.takeover_secs)?];
    for i in 1..scenario.instances {
        running.push(start(&exe, url, &format!("bench-kill-{i}"), scenario.takeover_secs)?);
    }
    let held = format!("{ours} AND status = 'sending' AND leased_by = '{victim}'");
    let mut report = Report {
        reminders: enqueued,
        ..Report::default()
    };
    for burst in [TimeDelta::zero(), TimeDelta::minutes(2)] {
        let middle = first_due + burst + TimeDelta::from_std(scenario.spread / 2)?;
        sleep_until(middle).await;
        // Kill it while it holds claims (within a few seconds of the burst's middle).
        let give_up = Instant::now() + Duration::from_secs(5);
        while count(db, &held).await? == 0 && Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let at = running
            .iter()
            .position(|s| s.name == victim)
            .context("the process to kill is not running")?;
        let name = running.remove(at).kill()?;
        let killed = Instant::now();
        let kill_at = (Utc::now() - first_due).to_std().unwrap_or_default();
        let in_flight = count(db, &held).await?;
        if running.is_empty() {
            // Alone on the database: it takes its own claims back when it restarts.
            tokio::time::sleep(Duration::from_secs(1)).await;
            running.push(start(&exe, url, &name, scenario.takeover_secs)?);
        }
        while count(db, &held).await? > 0 {
            if killed.elapsed() > Duration::from_secs(120) {
                bail!("nobody took the killed process's claims over within two minutes");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let takeover = killed.elapsed();
        if running.iter().all(|s| s.name != name) {
            running.push(start(&exe, url, &name, scenario.takeover_secs)?);
        }
        eprintln!(
            "  killed {name} {:.1} s into the run with {in_flight} claims in flight; taken over after {:.1} s",
            kill_at.as_secs_f64(),
            takeover.as_secs_f64()
        );
        report.kills.push(Kill {
            at: kill_at,
            in_flight,
            takeover,
        });
    }
    let last_deadline = starts.last().copied().unwrap_or(first_due) + TimeDelta::minutes(3);
    while count(db, &format!("{ours} AND status IN ('pending', 'sending')")).await? > 0 {
        if Utc::now() > last_deadline + TimeDelta::seconds(30) {
            eprintln!("  some reminders were still unsettled 30 s after the last deadline");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for serving in running {
        serving.stop()?;
    }

    let rows = db
        .reader()
        .query_all_raw(Statement::from_string(
            db.backend(),
            format!("SELECT webhook_id, session_id, deadline, status, maybe_sent FROM {ours}"),
        ))
        .await?
        .iter()
        .map(|row| Row::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    let path_of: HashMap<i64, &str> = webhooks.iter().map(|(path, id)| (*id, path.as_str())).collect();
    let mut arrived: HashMap<(String, i64), Vec<DateTime<Utc>>> = HashMap::new();
    for arrival in arrivals.all() {
        let key = (arrival.path, arrival.session.unwrap_or(-1));
        arrived.entry(key).or_default().push(arrival.at);
    }
    let kills: Vec<DateTime<Utc>> = report
        .kills
        .iter()
        .map(|k| first_due + TimeDelta::from_std(k.at).unwrap_or_default())
        .collect();
    for row in &rows {
        let key = (
            path_of.get(&row.webhook_id).copied().unwrap_or_default().to_owned(),
            row.session_id.unwrap_or(-1),
        );
        let times = arrived.get(&key).map(Vec::as_slice).unwrap_or_default();
        if times.is_empty() {
            report.lost += 1;
            let with_time = row.deadline.is_none_or(|deadline| {
                kills
                    .iter()
                    .filter(|kill| **kill < deadline)
                    .all(|kill| deadline - *kill > TimeDelta::seconds(30))
            });
            report.lost_with_time += usize::from(with_time);
        }
        report.duplicated += times.len().saturating_sub(1);
        if let Some(deadline) = row.deadline {
            report.after_start += times.iter().filter(|at| **at > deadline).count();
        }
        report.in_doubt += usize::from(row.maybe_sent);
        report.settled_in_doubt += usize::from(row.status == "in_doubt");
        if row.status == "expired" {
            report.expired += 1;
            report.expired_received += usize::from(!times.is_empty());
        }
    }
    Ok(report)
}

/// A `sciday serve` process sending webhooks as `name`, taking over claims left for
/// `takeover_secs`.
fn start(exe: &Path, url: &DatabaseUrl, name: &str, takeover_secs: u64) -> anyhow::Result<Serving> {
    let takeover = ["--delivery-takeover-secs".to_owned(), takeover_secs.to_string()];
    Serving::start(exe, url, name, &takeover)
}

async fn sleep_until(at: DateTime<Utc>) {
    if let Ok(wait) = (at - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}
