//! The `sciday` command line, run as a separate process against the test's database.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::{Backend, TestApp};
use crate::served::Served;

fn sciday(app: &TestApp, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_sciday"))
        .args(args)
        .env("SCIDAY_DATABASE_URL", app.database_url())
        .env("SCIDAY_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "sciday {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn sample_path() -> String {
    format!("{}/samples/lianyungang-2019.json", env!("CARGO_MANIFEST_DIR"))
}

db_test! {
    async fn token_create_prints_a_working_token_alone_on_the_last_line(app: TestApp) {
        let seed = app.seed().await;
        let output = sciday(&app, &["token", "create", "--role", "organizer", "--organization", "org.haizhou", "--name", "海州区"]);
        let stdout = String::from_utf8(output.stdout).unwrap();
        let token = stdout.trim_end().lines().last().unwrap();
        assert!(token.starts_with("sciday_") && !token.contains(' '));
        let path = format!("/api/v1/activities/{}", seed.activity);
        assert_eq!(app.patch(token, &path, "*", json!({"display_order": 3})).await.status, StatusCode::OK);
        let admin = sciday(&app, &["token", "create", "--role", "admin"]);
        let admin = String::from_utf8(admin.stdout).unwrap().trim().lines().last().unwrap().to_owned();
        assert_eq!(app.get_as(&admin, "/api/v1/tokens").await.status, StatusCode::OK);
    }
}

db_test! {
    async fn import_on_the_command_line_is_idempotent_and_export_reads_back(app: TestApp) {
        let first = sciday(&app, &["import", &sample_path()]);
        assert!(String::from_utf8_lossy(&first.stderr).contains("sessions:"));
        let exported = sciday(&app, &["export"]).stdout;
        let second = String::from_utf8(sciday(&app, &["import", &sample_path()]).stderr).unwrap();
        assert!(second.contains("0 created, 0 updated"), "{second}");
        assert_eq!(sciday(&app, &["export"]).stdout, exported);
        let document: sciday::transfer::Document = serde_json::from_slice(&exported).unwrap();
        assert_eq!(document.activities.len(), 11);
    }
}

#[test]
fn a_bad_file_fails_with_the_record_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        r#"{"format": "sciday/1", "venues": [{"key": "v", "name": "馆", "kind": "other", "time_zone": "Mars/Base"}]}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sciday"))
        .args([
            "--database-url",
            &format!("sqlite://{}", dir.path().join("x.db").display()),
            "import",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("venues[0].time_zone"), "{stderr}");
}

#[test]
fn a_delivery_log_retention_shorter_than_a_month_is_refused_before_starting() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sciday"))
        .args([
            "--database-url",
            &format!("sqlite://{}", dir.path().join("x.db").display()),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--delivery-retention-days",
            "7",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--delivery-retention-days") && stderr.contains("31..=3650"),
        "{stderr}"
    );
    assert!(!dir.path().join("x.db").exists(), "nothing was created");
}

db_test! {
    async fn serve_demo_loads_the_sample_prints_a_token_and_stops_on_sigterm(app: TestApp) {
        let mut served = Served::start(app.database_url(), &["--demo", "--listen", "127.0.0.1:0"], "warn").await;
        let token = served.said().await.split_whitespace().last().unwrap().to_owned();
        let address = served.address.clone();
        assert!(address.starts_with("http://127.0.0.1:"), "{address}");
        let client = reqwest::Client::new();
        let ready = client.get(format!("{address}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
        let programs: serde_json::Value = client.get(format!("{address}/api/v1/programs")).send().await.unwrap().json().await.unwrap();
        assert_eq!(programs["data"][0]["name"], "2019年全国科技工作者日系列活动");
        let tokens = client.get(format!("{address}/api/v1/tokens")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(tokens.status(), StatusCode::OK, "the printed token is an admin token");
        served.stop().await;
    }
}

/// Runs `sciday` and returns its output whatever its exit status.
fn sciday_unchecked(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sciday"))
        .args(args)
        .env("SCIDAY_DATABASE_URL", app.database_url())
        .env("SCIDAY_LOG", "warn")
        .output()
        .unwrap()
}

db_test! {
    async fn tokens_are_listed_and_revoked_on_the_command_line(app: TestApp) {
        let seed = app.seed().await;
        let created = sciday(&app, &["token", "create", "--role", "organizer", "--organization", "org.haizhou", "--name", "海州区", "--expires-in-days", "30"]);
        let token = String::from_utf8(created.stdout).unwrap().trim().lines().last().unwrap().to_owned();
        let path = format!("/api/v1/activities/{}", seed.activity);
        assert_eq!(app.patch(&token, &path, "*", json!({"display_order": 3})).await.status, StatusCode::OK);
        let list = String::from_utf8(sciday(&app, &["token", "list"]).stdout).unwrap();
        let row = list.lines().find(|l| l.contains("海州区")).unwrap_or_else(|| panic!("{list}")).to_owned();
        assert!(row.contains("连云港市海州区科学技术协会") && row.contains("active"), "{row}");
        assert!(!list.contains(&token), "the secret is never listed");
        let token_id = row.split('\t').next().unwrap().to_owned();
        sciday(&app, &["token", "revoke", &token_id]);
        app.patch(&token, &path, "*", json!({"display_order": 4})).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        let active = String::from_utf8(sciday(&app, &["token", "list"]).stdout).unwrap();
        assert!(!active.contains("海州区\t"), "revoked tokens are listed only with --all: {active}");
        let all = String::from_utf8(sciday(&app, &["token", "list", "--all"]).stdout).unwrap();
        assert!(all.lines().any(|l| l.starts_with(&format!("{token_id}\t")) && l.ends_with("revoked")), "{all}");
        let unknown = sciday_unchecked(&app, &["token", "revoke", "999999"]);
        assert!(!unknown.status.success());
    }
}

db_test! {
    async fn generate_refuses_a_database_that_holds_data_unless_forced(app: TestApp) {
        app.seed().await;
        let programs = app.count("programs").await;
        let small = ["generate", "--organizations", "2", "--venues", "3", "--sessions", "5", "--volunteers", "20", "--assignments", "10"];
        let refused = sciday_unchecked(&app, &small);
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("--force"), "{stderr}");
        assert_eq!(app.count("programs").await, programs);
        let mut forced = small.to_vec();
        forced.push("--force");
        sciday(&app, &forced);
        assert_eq!(app.count("programs").await, programs + 1);
    }
}

db_test! {
    async fn a_generate_killed_midway_leaves_nothing_behind(app: TestApp) {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_sciday"))
            .args(["generate", "--sessions", "20000", "--volunteers", "200000", "--assignments", "400000"])
            .env("SCIDAY_DATABASE_URL", app.database_url())
            .env("SCIDAY_LOG", "warn")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        // The first step is written (not committed) when it is reported: kill it there.
        let (announced, first) = tokio::task::spawn_blocking(move || {
            let mut lines = std::io::BufReader::new(stderr).lines().map(Result::unwrap);
            (lines.next(), lines.next())
        })
        .await
        .unwrap();
        assert!(announced.is_some_and(|line| line.contains("400,000 assignments")));
        assert_eq!(first.as_deref(), Some("generated organizations, venues and activities"));
        child.kill().unwrap();
        let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
        assert!(!status.success());
        for table in ["organizations", "venues", "programs", "activities", "sessions", "volunteers"] {
            assert_eq!(app.count(table).await, 0, "{table}");
        }
        // A rerun starts from an empty database and needs no --force.
        sciday(&app, &["generate", "--organizations", "2", "--venues", "3", "--sessions", "5", "--volunteers", "20", "--assignments", "10"]);
        assert_eq!(app.count("programs").await, 1);
    }
}

db_test! {
    async fn bench_national_at_a_thousandth_reuses_the_data_set_and_reports_every_case(app: TestApp) {
        // The national data set at a thousandth, made beforehand, as a first run would have.
        sciday(&app, &["generate", "--organizations", "2", "--venues", "10", "--sessions", "100", "--volunteers", "1000", "--assignments", "1500"]);
        let output = sciday(
            &app,
            &["bench", "national", "--scale", "0.001", "--requests", "20", "--seconds", "1", "--repeats", "4",
              "--deep-page", "2", "--concurrency", "1,4", "--max-connections", "4"],
        );
        let table = String::from_utf8(output.stdout).unwrap();
        assert!(table.contains("100 sessions, 1000 volunteers") && table.contains("(reused)"), "{table}");
        let cases = [
            "| program feed: first request |", "| program feed: cached 200 |", "| program feed: 304 |",
            "| organization-subtree feed: 304 |", "| personal feed: 304 |", "only: 304 |", "| team feed (",
            "| venue feed (", "two subscribers: from=", "| candidates: first page", "| sessions list: from=",
            "| volunteers list: 500 rows in (keyset cursor), 500 a page |",
            "| volunteers list: 500 rows in (keyset cursor), default page size |", "| assignments: 1 worker(s) |", "| assignments: 4 worker(s) |",
            "| reminder wave: 100 due at one second", "| memory of national-a",
        ];
        for case in cases {
            assert!(table.contains(case), "no row {case:?} in:\n{table}");
        }
        assert!(!table.contains("failed") && !table.contains("no answer"), "{table}");
        assert!(table.contains("all delivered") && table.contains("; 0 received twice"), "{table}");
        let instances = if app.backend == Backend::Postgres { 2 } else { 1 };
        assert!(table.contains(&format!("{instances} instance(s)")), "{table}");
        assert_eq!(app.count("webhooks").await, 0, "the wave's subscriptions are deleted afterwards");
    }
}
