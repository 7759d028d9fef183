//! `sciday bench webhooks`: reminders through the outbox to a fast receiver on loopback.
//!
//! Each run makes a program with 100 `standard` subscriptions (through the API, as organizers
//! would) and sessions whose hour-before reminders fall due at a chosen instant, then lets the
//! dispatchers (one on SQLite, two sharing the database on PostgreSQL) send them. Two cases:
//! a burst (10,000 reminders due in the same second) for throughput, and a steady load (1,000
//! due over a minute, 100 every six seconds) for lateness. Lateness is each delivery's first
//! attempt against its due time, read back from the delivery log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, DurationRound as _, SecondsFormat, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::percentile;
use crate::clock::{Clock, SystemClock};
use crate::db::Db;
use crate::delivery::dispatcher::{Dispatcher, Settings};
use crate::domain::webhook::AddressPolicy;

/// One case.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// Subscriptions, each covering every session of the case's program.
    pub subscriptions: usize,
    /// Sessions: reminders = sessions × subscriptions.
    pub sessions: usize,
    /// Time over which the sessions' reminders fall due (zero: all at once).
    pub spread: Duration,
}

impl Case {
    /// Reminders the case sends.
    pub fn reminders(&self) -> usize {
        self.subscriptions * self.sessions
    }
}

/// What one run measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Run {
    /// Reminders delivered.
    pub delivered: usize,
    /// From the first due time to the last delivery.
    pub elapsed: Duration,
    /// Deliveries per second from the first due time to the last delivery.
    pub rate: f64,
    /// Median lateness.
    pub p50: Duration,
    /// 99th percentile lateness.
    pub p99: Duration,
    /// Greatest lateness.
    pub max: Duration,
}

/// The API on loopback, used to set each run up as organizers would.
pub(super) struct Api {
    base: String,
    token: String,
    client: reqwest::Client,
}

/// What a run's program hangs on.
pub(super) struct Program {
    pub(super) organization: i64,
    pub(super) venue: i64,
    pub(super) program: i64,
    pub(super) activity: i64,
}

impl Api {
    /// The API at `base`, called with an admin `token`.
    pub(super) fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.to_owned(),
            token: token.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// An organization of its own with a venue, a program and an activity, named after `tag`.
    pub(super) async fn program(&self, tag: &str) -> anyhow::Result<Program> {
        let organization = self
            .post(
                "/api/v1/organizations",
                json!({"kind": "city_association", "name": format!("基准测试科协 {tag}")}),
            )
            .await?;
        let venue = self
            .post(
                "/api/v1/venues",
                json!({"name": format!("基准测试场馆 {tag}"), "kind": "other", "time_zone": "Asia/Shanghai", "organization_id": organization}),
            )
            .await?;
        let program = self
            .post(
                "/api/v1/programs",
                json!({"name": format!("基准测试活动 {tag}"), "time_zone": "Asia/Shanghai", "host_organization_id": organization}),
            )
            .await?;
        let activity = self
            .post(
                "/api/v1/activities",
                json!({"program_id": program, "kind": "series", "title": "科普宣传周", "organization_id": organization}),
            )
            .await?;
        Ok(Program {
            organization,
            venue,
            program,
            activity,
        })
    }

    /// Deletes what `path` names.
    pub(super) async fn delete(&self, path: &str) -> anyhow::Result<()> {
        let reply = self
            .client
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = reply.status();
        if !status.is_success() {
            bail!("DELETE {path} answered {status}: {}", reply.text().await?);
        }
        Ok(())
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> anyhow::Result<i64> {
        let reply = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let status = reply.status();
        let body: Value = reply.json().await?;
        if !status.is_success() {
            bail!("POST {path} answered {status}: {body}");
        }
        body["id"].as_i64().context("the answer has no id")
    }
}

/// Rows of `from_where` (a table and its condition).
pub(super) async fn count(db: &Db, from_where: &str) -> anyhow::Result<i64> {
    let row = db
        .reader()
        .query_one_raw(Statement::from_string(
            db.backend(),
            format!("SELECT COUNT(*) AS n FROM {from_where}"),
        ))
        .await?
        .context("no count")?;
    Ok(row.try_get("", "n")?)
}

#[derive(FromQueryResult)]
struct Timing {
    due_at: DateTime<Utc>,
    first: Option<DateTime<Utc>>,
}

/// Sets up one run of `case`, lets `dispatchers` send it, and measures.
async fn run_case(
    api: &Api,
    db: &Db,
    dispatchers: &[Arc<Dispatcher>],
    receiver: SocketAddr,
    case: Case,
    label: &str,
) -> anyhow::Result<Run> {
    let tag = format!("{label}-{}", Utc::now().timestamp_micros());
    let Program {
        organization,
        venue,
        program,
        activity,
    } = api.program(&tag).await?;
    let mut webhooks = Vec::with_capacity(case.subscriptions);
    for i in 0..case.subscriptions {
        webhooks.push(
            api.post(
                "/api/v1/webhooks",
                json!({"organization_id": organization, "url": format!("http://{receiver}/{tag}/{i}"),
                       "format": "standard", "scope": {"kind": "program", "id": program},
                       "events": ["session.reminder"], "offsets": ["PT1H"]}),
            )
            .await?,
        );
    }
    // Reminders fall due a little after the sessions are made, on a whole second (session
    // times are kept to the second).
    let setup = Duration::from_millis(3000 + 60 * case.sessions as u64);
    let soon = SystemClock.now() + TimeDelta::from_std(setup)?;
    let first_due = soon.duration_trunc(TimeDelta::seconds(1))? + TimeDelta::seconds(1);
    let step = Duration::from_secs(case.spread.as_secs() / case.sessions.max(1) as u64);
    for i in 0..case.sessions {
        let due = first_due + TimeDelta::from_std(step * u32::try_from(i).unwrap_or(0))?;
        let start = due + TimeDelta::hours(1);
        api.post(
            "/api/v1/sessions",
            json!({"activity_id": activity, "venue_id": venue,
                   "starts_at": start.to_rfc3339_opts(SecondsFormat::Secs, true),
                   "ends_at": (start + TimeDelta::hours(2)).to_rfc3339_opts(SecondsFormat::Secs, true)}),
        )
        .await?;
    }
    let ids = webhooks.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let expected = case.reminders();
    let enqueued = count(db, &format!("deliveries WHERE webhook_id IN ({ids})")).await?;
    if usize::try_from(enqueued).unwrap_or(0) < expected || SystemClock.now() > first_due {
        bail!(
            "setting the case up took longer than {setup:?} (the machine is busy): {enqueued} of {expected} reminders are still to come"
        );
    }
    let delivered_rows = format!("deliveries WHERE webhook_id IN ({ids}) AND status = 'delivered'");
    let stop = CancellationToken::new();
    let running: Vec<_> = dispatchers
        .iter()
        .map(|d| {
            let d = Arc::clone(d);
            let stop = stop.clone();
            tokio::spawn(async move { d.run(stop).await })
        })
        .collect();
    let deadline = Instant::now() + setup + case.spread + Duration::from_secs(122);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let delivered = count(db, &delivered_rows).await?;
        if usize::try_from(delivered).unwrap_or(0) >= expected {
            break;
        }
        if Instant::now() > deadline {
            stop.cancel();
            bail!("only {delivered} of {expected} reminders were delivered in time");
        }
    }
    stop.cancel();
    for task in running {
        task.await?;
    }
    let rows = db
        .reader()
        .query_all_raw(Statement::from_string(
            db.backend(),
            format!(
                "SELECT d.due_at, MIN(a.attempted_at) AS first FROM deliveries d \
                 LEFT JOIN delivery_attempts a ON a.delivery_id = d.id WHERE d.webhook_id IN ({ids}) GROUP BY d.id, d.due_at"
            ),
        ))
        .await?;
    let timings = rows
        .iter()
        .map(|row| Timing::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    let mut lateness: Vec<Duration> = timings
        .iter()
        .filter_map(|t| (t.first? - t.due_at).to_std().ok().or(Some(Duration::ZERO)))
        .collect();
    lateness.sort_unstable();
    let last = timings.iter().filter_map(|t| t.first).max().unwrap_or(first_due);
    let elapsed = (last - first_due).to_std().unwrap_or_default();
    Ok(Run {
        delivered: lateness.len(),
        elapsed,
        rate: lateness.len() as f64 / elapsed.as_secs_f64().max(1e-3),
        p50: percentile(&lateness, 0.50),
        p99: percentile(&lateness, 0.99),
        max: lateness.last().copied().unwrap_or_default(),
    })
}

/// Runs the burst and the steady case `repeats` times each on the database at `url`, with
/// `instances` dispatchers, and prints a table of medians.
pub async fn run(
    db: &Db,
    connect: impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<Db>> + Send>>,
    api_base: &str,
    token: &str,
    instances: usize,
    repeats: usize,
) -> anyhow::Result<Vec<(String, Run)>> {
    let (receiver, received) = super::receiver::start(Duration::ZERO).await?;
    let mut dispatchers = Vec::with_capacity(instances);
    for _ in 0..instances {
        let own = connect().await?;
        dispatchers.push(Arc::new(Dispatcher::new(
            own,
            Arc::new(SystemClock),
            AddressPolicy::allowing(vec!["127.0.0.0/8".parse()?]),
            Settings::default(),
            api_base,
        )?));
    }
    let api = Api::new(api_base, token);
    let cases = [
        (
            "burst: 10,000 due at once",
            Case {
                subscriptions: 100,
                sessions: 100,
                spread: Duration::ZERO,
            },
        ),
        (
            "steady: 1,000 due over a minute",
            Case {
                subscriptions: 100,
                sessions: 10,
                spread: Duration::from_secs(60),
            },
        ),
    ];
    let mut results = Vec::new();
    for (label, case) in cases {
        let mut runs = Vec::with_capacity(repeats);
        for repeat in 0..repeats {
            let before = received.len();
            let run = run_case(&api, db, &dispatchers, receiver, case, &format!("r{repeat}")).await?;
            let got = received.len() - before;
            eprintln!(
                "  {label}, run {}: {} delivered ({got} received) in {:.2} s, {:.0}/s, lateness p50 {:.0} ms p99 {:.0} ms max {:.0} ms",
                repeat + 1,
                run.delivered,
                run.elapsed.as_secs_f64(),
                run.rate,
                run.p50.as_secs_f64() * 1e3,
                run.p99.as_secs_f64() * 1e3,
                run.max.as_secs_f64() * 1e3
            );
            runs.push(run);
        }
        results.push((label.to_owned(), summarize(&runs)));
    }
    Ok(results)
}

/// The median of each figure over several runs.
fn summarize(runs: &[Run]) -> Run {
    let pick = |f: &dyn Fn(&Run) -> f64| super::median(&mut runs.iter().map(f).collect::<Vec<_>>());
    Run {
        delivered: runs.first().map_or(0, |r| r.delivered),
        elapsed: Duration::from_secs_f64(pick(&|r| r.elapsed.as_secs_f64())),
        rate: pick(&|r| r.rate),
        p50: Duration::from_secs_f64(pick(&|r| r.p50.as_secs_f64())),
        p99: Duration::from_secs_f64(pick(&|r| r.p99.as_secs_f64())),
        max: Duration::from_secs_f64(pick(&|r| r.max.as_secs_f64())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_sends_a_reminder_per_session_and_subscription() {
        let case = Case {
            subscriptions: 100,
            sessions: 100,
            spread: Duration::ZERO,
        };
        assert_eq!(case.reminders(), 10_000);
    }
}
