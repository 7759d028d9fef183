//! Real `sciday serve` processes killed mid-dispatch: two on PostgreSQL (one killed with
//! SIGKILL and restarted under its identity while the other goes on), one on SQLite (killed and
//! restarted). A receiver in the test answers slowly, so sends are in flight at the kill.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, TimeDelta, Utc};
use serde_json::json;

use crate::db_test;
use crate::dispatch::loopback;
use crate::helpers::{Backend, TestApp, id};
use crate::receiver::Receiver;

/// Seconds after which a claim nobody renewed is taken over, for these processes.
const TAKEOVER_SECS: u64 = 3;

/// How long the receiver takes to answer (under the processes' two-second timeout).
const ANSWER_AFTER: Duration = Duration::from_millis(800);

/// Subscriptions, each with one reminder per session.
const SUBSCRIPTIONS: usize = 5;
const SESSIONS: usize = 60;

/// A `sciday serve` process, killed when dropped (a failing test leaves nothing running).
struct Serving(Child);

impl Serving {
    fn start(app: &TestApp, instance: &str) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_sciday"))
            .args(["serve", "--listen", "127.0.0.1:0", "--webhook-allow", "127.0.0.0/8"])
            .args([
                "--instance-id",
                instance,
                "--webhook-timeout-ms",
                "2000",
                "--webhook-gather-ms",
                "0",
            ])
            .args(["--delivery-takeover-secs", &TAKEOVER_SECS.to_string()])
            .env("SCIDAY_DATABASE_URL", app.database_url())
            .env("SCIDAY_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Self(child)
    }

    fn kill(mut self) {
        // `Child::kill` is SIGKILL: no shutdown, no release of claims.
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `done` holds, failing after `limit`.
pub(crate) async fn until(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what} did not happen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

db_test! {
    async fn reminders_survive_a_killed_process_none_lost_and_repeats_only_of_what_was_in_flight(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        receiver.answer_after(ANSWER_AFTER);
        let seed = app.seed().await;
        // Sessions five minutes away with a five-minute reminder: due now, deadline far off.
        let now = Utc::now();
        app.clock.set(now);
        for n in 0..SESSIONS {
            let starts = now + TimeDelta::minutes(5) + TimeDelta::seconds(i64::try_from(n % 6 + 1).unwrap());
            let ends = starts + TimeDelta::hours(1);
            app.create(
                "/api/v1/sessions",
                json!({"activity_id": seed.activity, "venue_id": seed.venue, "title": format!("科普讲座{n:02}"),
                       "starts_at": starts.to_rfc3339_opts(SecondsFormat::Secs, true),
                       "ends_at": ends.to_rfc3339_opts(SecondsFormat::Secs, true)}),
            )
            .await;
        }
        for k in 0..SUBSCRIPTIONS {
            id(&app.create(
                "/api/v1/webhooks",
                json!({"organization_id": seed.haizhou, "url": receiver.url(&format!("/standard/k{k}")), "format": "standard",
                       "scope": {"kind": "program", "id": seed.program}, "events": ["session.reminder"], "offsets": ["PT5M"]}),
            )
            .await);
        }
        let total = SUBSCRIPTIONS * SESSIONS;
        assert_eq!(app.count("deliveries WHERE status = 'pending'").await, i64::try_from(total).unwrap());

        let mut running = vec![("sciday-a", Serving::start(&app, "sciday-a"))];
        if app.backend == Backend::Postgres {
            running.push(("sciday-b", Serving::start(&app, "sciday-b")));
        }
        // Kill, once sends have arrived, a process that holds claims.
        let mut victim = None;
        until(Duration::from_secs(60), "a process with sends in flight", async || {
            if receiver.all().len() < 10 {
                return false;
            }
            for (at, (name, _)) in running.iter().enumerate() {
                if app.count(&format!("deliveries WHERE status = 'sending' AND leased_by = '{name}'")).await > 0 {
                    victim = Some(at);
                    return true;
                }
            }
            false
        })
        .await;
        let (name, killed) = running.remove(victim.unwrap());
        killed.kill();
        let kill = Instant::now();
        let held = format!("deliveries WHERE status = 'sending' AND leased_by = '{name}'");
        // What the killed process had claimed and not recorded: sent or about to be.
        let in_flight = app.count(&held).await;
        assert!(in_flight > 0, "the kill came mid-dispatch");

        if !running.is_empty() {
            // The survivor takes the dead claims over once nobody renews them.
            until(Duration::from_secs(30), "the takeover", async || app.count(&held).await == 0).await;
            let took = kill.elapsed();
            assert!(took >= Duration::from_secs(TAKEOVER_SECS - 1), "taken over before the claims ran out: {took:?}");
        }
        // Restarted under its identity, the process takes back whatever is still its own.
        running.push((name, Serving::start(&app, name)));
        until(Duration::from_secs(60), "every reminder settling", async || {
            app.count("deliveries WHERE status IN ('pending', 'sending')").await == 0
        })
        .await;
        drop(running);

        // None lost: every (subscription, session) pair arrived.
        let mut arrived: BTreeSet<(String, i64)> = BTreeSet::new();
        let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
        for request in receiver.all() {
            let session = request.json()["data"]["session"]["id"].as_i64().unwrap();
            arrived.insert((request.path.clone(), session));
            *by_id.entry(request.header("webhook-id")).or_default() += 1;
        }
        assert_eq!(arrived.len(), total, "reminders lost");
        assert_eq!(by_id.len(), total, "each reminder has one webhook-id, its repeats included");
        let repeated: usize = by_id.values().map(|n| n - 1).sum();
        assert!(i64::try_from(repeated).unwrap() <= in_flight, "{repeated} repeats, {in_flight} in flight at the kill");
        assert!(by_id.values().all(|n| *n <= 2), "sent more than twice: {by_id:?}");
        // The log tells the truth: everything delivered, nothing expired, and each send in flight
        // at the kill shown in doubt.
        assert_eq!(app.count("deliveries WHERE status = 'delivered'").await, i64::try_from(total).unwrap());
        assert_eq!(app.count("deliveries WHERE status = 'expired'").await, 0);
        assert_eq!(app.count("delivery_attempts WHERE outcome = 'in_doubt'").await, in_flight);
        assert_eq!(app.count("deliveries WHERE maybe_sent").await, in_flight);
    }
}
