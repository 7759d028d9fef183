//! `/metrics`, scraped from a real `sciday serve` process before and after a known sequence of
//! requests. A process has one recorder, and the other tests run many services in this one, so
//! the counts are read from a process of the test's own.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::dispatch::loopback;
use crate::faults::until;
use crate::helpers::{Backend, id};
use crate::receiver::Receiver;

/// A `sciday serve` process, killed when dropped.
struct Serving {
    child: Child,
    address: String,
    metrics: Option<String>,
}

impl Serving {
    /// Starts the service on `database_url` and reads where it listens from what it prints.
    async fn start(database_url: &str, args: &[&str]) -> Self {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_sciday"))
            .args(["serve", "--listen", "127.0.0.1:0", "--webhook-allow", "127.0.0.0/8"])
            .args(["--webhook-gather-ms", "0"])
            .args(args)
            .env("SCIDAY_DATABASE_URL", database_url)
            .env("SCIDAY_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let separate = args.contains(&"--metrics-listen");
        let (address, metrics) = tokio::task::spawn_blocking(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            let listening = lines.next().unwrap().unwrap();
            let metrics = separate.then(|| lines.next().unwrap().unwrap());
            std::thread::spawn(move || lines.for_each(drop));
            let address = listening.split_whitespace().nth(3).unwrap().to_owned();
            (
                address,
                metrics.map(|line| line.split_whitespace().nth(2).unwrap().to_owned()),
            )
        })
        .await
        .unwrap();
        Self {
            child,
            address,
            metrics,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Reads `/metrics` where this process serves it.
    async fn scrape(&self) -> Scrape {
        let url = self.metrics.clone().unwrap_or_else(|| self.url("/metrics"));
        let response = reqwest::get(url).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        Scrape::parse(&response.text().await.unwrap())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scrape: every sample by its name and its labels, sorted.
struct Scrape {
    text: String,
    samples: BTreeMap<(String, Vec<(String, String)>), f64>,
}

impl Scrape {
    fn parse(text: &str) -> Self {
        let label = regex::Regex::new(r#"(\w+)="((?:[^"\\]|\\.)*)""#).unwrap();
        let mut samples = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            let mut labels: Vec<(String, String)> = label
                .captures_iter(labels)
                .map(|c| (c[1].to_owned(), c[2].to_owned()))
                .collect();
            labels.sort();
            samples.insert((name.to_owned(), labels), value.parse().unwrap());
        }
        Self {
            text: text.to_owned(),
            samples,
        }
    }

    /// The sample with exactly these labels, zero when there is none (a counter not yet moved).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut labels: Vec<(String, String)> =
            labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        labels.sort();
        self.samples.get(&(name.to_owned(), labels)).copied().unwrap_or(0.0)
    }

    /// The sum of the samples of `name` that carry these labels (and maybe others).
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|((n, l), _)| n == name && labels.iter().all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v)))
            .map(|(_, value)| value)
            .sum()
    }
}

/// How much a sample moved between two scrapes.
fn moved(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

fn rfc3339(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

db_test! {
    async fn a_scrape_after_known_requests_shows_each_counter_moved_by_them(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        // A role in a 2019 session: the process runs on today's clock, so the session is over.
        let over = id(&app.session(seed.activity, seed.venue, "2019-05-28T09:00+08:00", "2019-05-28T11:00+08:00").await);
        let role = id(&app.create("/api/v1/session-roles", json!({"session_id": over, "name": "讲解员", "needed": 2})).await);
        let volunteer = id(&app.create("/api/v1/volunteers", json!({"name": "张伟", "organization_id": seed.haizhou})).await);
        let serving = Serving::start(app.database_url(), &[]).await;
        let client = reqwest::Client::new();
        let get = async |path: &str| client.get(serving.url(path)).send().await.unwrap().status();
        let post = async |path: &str, body: Value| {
            let response = client.post(serving.url(path)).bearer_auth(&app.admin).json(&body).send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        };

        let before = serving.scrape().await;
        for _ in 0..3 {
            assert_eq!(get("/api/v1/programs").await, StatusCode::OK);
        }
        assert_eq!(get("/api/v1/programs/999999").await, StatusCode::NOT_FOUND);
        assert_eq!(get("/no/such/page").await, StatusCode::NOT_FOUND);
        assert_eq!(get("/feeds/volunteers/a-secret-feed-token.ics").await, StatusCode::NOT_FOUND);
        let feed = format!("/feeds/programs/{}.ics?from=2019-05-01", seed.program);
        assert_eq!(get(&feed).await, StatusCode::OK);
        assert_eq!(get(&feed).await, StatusCode::OK);
        assert_eq!(get("/").await, StatusCode::OK);
        assert_eq!(get("/").await, StatusCode::OK);
        let (status, refusal) = post("/api/v1/assignments", json!({"role_id": role, "volunteer_id": volunteer})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refusal}");
        assert_eq!(refusal["violations"][0]["rule"], "session_ended", "{refusal}");

        // A reminder due now goes out at once; one due in two hours waits in the outbox.
        let now = Utc::now();
        for (title, starts) in [("开幕式", now + TimeDelta::seconds(305)), ("科普讲座", now + TimeDelta::hours(2))] {
            let (status, session) = post("/api/v1/sessions", json!({"activity_id": seed.activity, "venue_id": seed.venue,
                "title": title, "starts_at": rfc3339(starts), "ends_at": rfc3339(starts + TimeDelta::hours(1))})).await;
            assert_eq!(status, StatusCode::CREATED, "{session}");
        }
        let (status, webhook) = post("/api/v1/webhooks", json!({"organization_id": seed.haizhou, "url": receiver.url("/standard/metrics"),
            "format": "standard", "scope": {"kind": "program", "id": seed.program}, "events": ["session.reminder"], "offsets": ["PT5M"]})).await;
        assert_eq!(status, StatusCode::CREATED, "{webhook}");
        until(Duration::from_secs(30), "the reminder's delivery", async || {
            app.count("deliveries WHERE status = 'delivered'").await == 1
        })
        .await;
        assert_eq!(receiver.all().len(), 1);
        let after = serving.scrape().await;

        let requests = "sciday_http_requests_total";
        let of = |route, status| [("route", route), ("method", "GET"), ("status", status)];
        assert_eq!(moved(&before, &after, requests, &of("/api/v1/programs", "200")), 3.0);
        assert_eq!(moved(&before, &after, requests, &of("/api/v1/programs/{id}", "404")), 1.0);
        assert_eq!(moved(&before, &after, requests, &of("unmatched", "404")), 1.0);
        assert_eq!(moved(&before, &after, requests, &of("/feeds/{collection}/{file}", "200")), 2.0);
        assert_eq!(moved(&before, &after, requests, &of("/feeds/{collection}/{file}", "404")), 1.0);
        assert_eq!(moved(&before, &after, requests, &of("/metrics", "200")), 1.0, "the first scrape");
        let refused = [("route", "/api/v1/assignments"), ("method", "POST"), ("status", "409")];
        assert_eq!(moved(&before, &after, requests, &refused), 1.0);
        let timed = "sciday_http_request_duration_seconds_count";
        assert_eq!(moved(&before, &after, timed, &of("/api/v1/programs", "200")), 3.0);
        assert!(!after.text.contains("a-secret-feed-token") && !after.text.contains("/no/such"));

        let lookups = "sciday_cache_lookups_total";
        assert_eq!(moved(&before, &after, lookups, &[("cache", "feed"), ("result", "miss")]), 1.0);
        assert_eq!(moved(&before, &after, lookups, &[("cache", "feed"), ("result", "hit")]), 1.0);
        let renders = "sciday_render_duration_seconds_count";
        assert_eq!(moved(&before, &after, renders, &[("cache", "feed")]), 1.0);
        // A page is rendered again once a second has passed, so the second request may miss.
        let page_misses = moved(&before, &after, lookups, &[("cache", "page"), ("result", "miss")]);
        let page_hits = moved(&before, &after, lookups, &[("cache", "page"), ("result", "hit")]);
        assert!(page_misses >= 1.0 && page_misses + page_hits == 2.0, "{page_misses} misses, {page_hits} hits");
        assert_eq!(moved(&before, &after, renders, &[("cache", "page")]), page_misses);

        let refusals = "sciday_assignment_refusals_total";
        assert_eq!(moved(&before, &after, refusals, &[("rule", "session_ended")]), 1.0);
        assert_eq!(after.sum(refusals, &[]) - before.sum(refusals, &[]), 1.0);

        let delivered = [("platform", "standard"), ("result", "delivered"), ("reason", "accepted")];
        assert_eq!(moved(&before, &after, "sciday_webhook_deliveries_total", &delivered), 1.0);
        let lateness = [("platform", "standard")];
        assert_eq!(moved(&before, &after, "sciday_reminder_lateness_seconds_count", &lateness), 1.0);
        assert!(after.value("sciday_reminder_lateness_seconds_sum", &lateness) < 30.0);

        let pending = app.count("deliveries WHERE status = 'pending'").await;
        assert_eq!(pending, 1, "the later reminder");
        let outbox = "sciday_outbox_messages";
        assert_eq!(after.value(outbox, &[("status", "pending"), ("platform", "standard")]), 1.0);
        assert_eq!(after.value(outbox, &[("status", "sending"), ("platform", "dingtalk")]), 0.0);
        assert_eq!(after.value("sciday_outbox_due_messages", &[("platform", "standard")]), 0.0);

        let pools: &[&str] = match app.backend {
            Backend::Sqlite => &["read", "write"],
            Backend::Postgres => &["shared"],
        };
        for pool in pools {
            assert!(after.value("sciday_db_connections_max", &[("pool", pool)]) >= 1.0, "{pool}: {}", after.text);
            let open = after.sum("sciday_db_connections", &[("pool", pool)]);
            assert!(open >= 1.0, "{pool} holds its connection");
        }
        assert_eq!(after.value("sciday_db_begin_waiting", &[]), 0.0);
        assert!(after.value("sciday_db_begin_wait_seconds_count", &[]) >= 1.0);
    }
}

#[tokio::test]
async fn metrics_on_a_listener_of_their_own_are_not_served_on_the_public_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("metrics.db").display());
    let serving = Serving::start(&url, &["--metrics-listen", "127.0.0.1:0"]).await;
    let private = serving.metrics.clone().unwrap();
    assert!(
        private.starts_with("http://127.0.0.1:") && private.ends_with("/metrics"),
        "{private}"
    );
    assert_ne!(private, serving.url("/metrics"));
    let public = reqwest::get(serving.url("/metrics")).await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        reqwest::get(serving.url("/readyz")).await.unwrap().status(),
        StatusCode::OK
    );
    let scrape = serving.scrape().await;
    assert_eq!(scrape.value("sciday_db_begin_waiting", &[]), 0.0);
    let requests = "sciday_http_requests_total";
    assert_eq!(
        scrape.value(
            requests,
            &[("route", "unmatched"), ("method", "GET"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        scrape.value(requests, &[("route", "/readyz"), ("method", "GET"), ("status", "200")]),
        1.0
    );
    assert_eq!(
        scrape.sum(requests, &[("route", "/metrics")]),
        0.0,
        "scrapes are not requests of the service"
    );
}
