//! Starting `sciday` the way operators do: the logs it writes, what `--demo` does on a restart,
//! databases that are missing or unreachable, a busy port, and options shown where they matter.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use migration::{Migrator, MigratorTrait};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Backend, id};
use crate::served::Served;

/// Runs `sciday ARGS` with `env` set, whatever its exit status.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sciday"))
        .args(args)
        .env_remove("SCIDAY_DATABASE_URL")
        .env("SCIDAY_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn sqlite_in(dir: &tempfile::TempDir, file: &str) -> String {
    format!("sqlite://{}", dir.path().join(file).display())
}

/// A port on 127.0.0.1 that nothing listens on: bound, then closed.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

db_test! {
    async fn serve_logs_json_lines_without_colour_to_a_pipe_and_its_settings_without_the_password(app: TestApp) {
        // PostgreSQL here trusts loopback, so a password in the URL is ignored but must not be logged.
        let mut url = url::Url::parse(app.database_url()).unwrap();
        if app.backend == Backend::Postgres {
            url.set_password(Some("hunter2-secret")).unwrap();
        }
        let mut served = Served::start(url.as_str(), &["--listen", "127.0.0.1:0", "--demo"], "info").await;
        let logged = served.logged_until("sciday is ready").await;
        for line in &logged {
            assert!(!line.contains('\u{1b}'), "no colour codes in a pipe: {line:?}");
            assert!(!line.contains("hunter2-secret"), "no password in the log: {line}");
            let record: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(record["level"].is_string() && record["message"].is_string(), "{line}");
        }
        let settings: Value = logged
            .iter()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .find(|record| record["message"] == "starting with these settings")
            .expect("a record of the settings");
        assert_eq!(settings["level"], "INFO");
        assert_eq!(settings["listen"], "127.0.0.1:0");
        assert_eq!(settings["demo"], true);
        let database = settings["database"].as_str().unwrap();
        if app.backend == Backend::Postgres {
            assert!(database.contains(":REDACTED@"), "{database}");
        } else {
            assert_eq!(database, app.database_url());
        }
        served.stop().await;
    }
}

#[test]
fn migrate_logs_each_migration_it_applies_by_name_and_none_once_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_in(&dir, "new.db");
    let args = ["--database-url", &url, "--log-format", "text", "migrate"];
    let first = run(&args, &[("SCIDAY_LOG", "info")]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "text without colour codes in a pipe: {stderr}"
    );
    let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    for name in &names {
        let line = stderr
            .lines()
            .find(|l| l.contains(name.as_str()) && l.contains("applied database migration"));
        let line = line.unwrap_or_else(|| panic!("{name} is not logged:\n{stderr}"));
        assert!(line.contains("INFO"), "{line}");
    }
    assert!(
        stderr.contains(&format!("{} migration(s) applied", names.len())),
        "{stderr}"
    );
    let again = run(&args, &[("SCIDAY_LOG", "info")]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(names.iter().all(|name| !stderr.contains(name.as_str())), "{stderr}");
    assert!(stderr.contains("up to date"), "{stderr}");
}

db_test! {
    async fn serve_demo_restarted_on_an_edited_database_changes_nothing_and_keeps_its_token(app: TestApp) {
        let args = ["--listen", "127.0.0.1:0", "--demo", "--no-dispatcher"];
        let mut first = Served::start(app.database_url(), &args, "warn").await;
        let token = first.said().await.split_whitespace().last().unwrap().to_owned();
        assert!(token.starts_with("sciday_"), "{token}");
        let client = reqwest::Client::new();
        let programs: Value = client.get(format!("{}/api/v1/programs", first.address)).send().await.unwrap().json().await.unwrap();
        let program = id(&programs["data"][0]);
        let sessions: Value = client
            .get(format!("{}/api/v1/sessions?program_id={program}&limit=1", first.address))
            .send().await.unwrap().json().await.unwrap();
        let session = format!("/api/v1/sessions/{}", id(&sessions["data"][0]));
        let edited = client
            .patch(format!("{}{session}", first.address))
            .bearer_auth(&token)
            .header("If-Match", "*")
            .json(&json!({"title": "开幕式（改在礼堂）"}))
            .send()
            .await
            .unwrap();
        assert_eq!(edited.status(), StatusCode::OK);
        first.stop().await;

        let mut again = Served::start(app.database_url(), &args, "warn").await;
        let notice = again.said().await;
        assert!(notice.contains("already holds data") && notice.contains("not loaded"), "{notice}");
        let hint = again.said().await;
        assert!(hint.contains("sciday token create --role admin"), "{hint}");
        let read: Value = client.get(format!("{}{session}", again.address)).send().await.unwrap().json().await.unwrap();
        assert_eq!(read["title"], "开幕式（改在礼堂）", "the edit survives the restart");
        let tokens = client.get(format!("{}/api/v1/tokens", again.address)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(tokens.status(), StatusCode::OK, "the first token still works");
        let tokens: Value = tokens.json().await.unwrap();
        let demo = tokens["data"].as_array().unwrap().iter().filter(|t| t["name"] == "demo admin").count();
        assert_eq!(demo, 1, "no second token was made: {tokens}");
        again.stop().await;
    }
}

#[test]
fn commands_that_only_read_refuse_a_database_that_does_not_exist_and_create_none() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_in(&dir, "tpyo.db");
    let copy = dir.path().join("copy.db");
    let commands: [&[&str]; 5] = [
        &["export"],
        &["backup", copy.to_str().unwrap()],
        &["token", "list"],
        &["token", "create", "--role", "admin"],
        &["token", "revoke", "1"],
    ];
    for command in commands {
        let mut args = vec!["--database-url", &url];
        args.extend_from_slice(command);
        let output = run(&args, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{command:?} succeeded");
        assert!(
            stderr.contains("no such database") && stderr.contains("tpyo.db"),
            "{command:?}: {stderr}"
        );
        assert_eq!(stderr.matches("no such database").count(), 1, "said once: {stderr}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{command:?} created {left:?}");
    }
}

#[test]
fn a_missing_postgresql_database_is_named_in_the_servers_words_once() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path("/sciday_never_created");
    let output = run(&["--database-url", url.as_str(), "export"], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    let said = "database \"sciday_never_created\" does not exist";
    assert_eq!(stderr.matches(said).count(), 1, "the server's message, once: {stderr}");
}

#[test]
fn an_unreachable_postgresql_fails_within_seconds_with_the_cause_said_once() {
    let port = closed_port();
    let url = format!("postgres://sciday:hunter2-secret@127.0.0.1:{port}/sciday");
    for command in [&["token", "list"][..], &["serve", "--listen", "127.0.0.1:0"]] {
        let mut args = vec!["--database-url", &url];
        args.extend_from_slice(command);
        let started = Instant::now();
        let output = run(&args, &[]);
        let elapsed = started.elapsed();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{command:?}");
        assert!(
            elapsed < Duration::from_secs(15),
            "{command:?} took {elapsed:?}: {stderr}"
        );
        let cause = format!("connection refused at 127.0.0.1:{port}");
        assert_eq!(stderr.matches(&cause).count(), 1, "{command:?}: {stderr}");
        assert!(!stderr.contains("pool timed out"), "{stderr}");
        assert!(!stderr.contains("hunter2-secret"), "{stderr}");
    }
}

#[test]
fn serve_on_a_busy_port_names_the_setting_and_creates_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = busy.local_addr().unwrap().to_string();
    let url = sqlite_in(&dir, "sciday.db");
    let output = run(&["--database-url", &url, "serve", "--listen", &address], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&address) && stderr.contains("--listen") && stderr.contains("SCIDAY_LISTEN"),
        "{stderr}"
    );
    assert!(!dir.path().join("sciday.db").exists(), "no database was created");
    drop(busy);
}

#[tokio::test]
async fn listening_on_every_interface_without_a_public_url_warns_that_links_name_localhost() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_in(&dir, "sciday.db");
    let mut served = Served::start(&url, &["--listen", "0.0.0.0:0", "--no-dispatcher"], "info").await;
    let logged = served.logged_until("sciday is ready").await;
    let warning = logged.iter().find(|l| l.contains("--public-url"));
    let warning = warning.unwrap_or_else(|| panic!("no warning in {logged:?}"));
    assert!(
        warning.contains("WARN") && warning.contains("http://localhost:"),
        "{warning}"
    );
    served.stop().await;

    let public = [
        "--listen",
        "0.0.0.0:0",
        "--no-dispatcher",
        "--public-url",
        "https://sciday.example",
    ];
    let mut named = Served::start(&url, &public, "info").await;
    let logged = named.logged_until("sciday is ready").await;
    assert!(logged.iter().all(|l| !l.contains("WARN")), "{logged:?}");
    named.stop().await;
}

#[test]
fn options_are_offered_only_where_they_change_something() {
    let help = |command: &[&str]| {
        let mut args = command.to_vec();
        args.push("--help");
        String::from_utf8(run(&args, &[]).stdout).unwrap()
    };
    for command in [&["serve"][..], &["bench", "assign"]] {
        let text = help(command);
        assert!(
            text.contains("--max-connections") && text.contains("--travel-buffer-minutes"),
            "{command:?}: {text}"
        );
    }
    let import = help(&["import"]);
    assert!(
        import.contains("--travel-buffer-minutes") && !import.contains("--max-connections"),
        "{import}"
    );
    for command in [
        &["export"][..],
        &["migrate"],
        &["backup"],
        &["token", "list"],
        &["generate"],
    ] {
        let text = help(command);
        assert!(
            !text.contains("--max-connections") && !text.contains("--travel-buffer-minutes"),
            "{command:?}: {text}"
        );
        assert!(
            text.contains("--database-url") && text.contains("--log-format"),
            "{command:?}: {text}"
        );
    }
    // The environment still sets them where they matter, and is ignored elsewhere.
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_in(&dir, "sciday.db");
    let env = [
        ("SCIDAY_MAX_CONNECTIONS", "many"),
        ("SCIDAY_TRAVEL_BUFFER_MINUTES", "long"),
    ];
    let serve = run(&["--database-url", &url, "serve", "--listen", "127.0.0.1:0"], &env);
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(
        !serve.status.success() && stderr.contains("--max-connections"),
        "{stderr}"
    );
    let migrate = run(&["--database-url", &url, "migrate"], &env);
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
}

db_test! {
    async fn generate_says_what_it_will_write_and_where_before_it_starts(app: TestApp) {
        let output = Command::new(env!("CARGO_BIN_EXE_sciday"))
            .args(["generate", "--organizations", "2", "--venues", "3", "--sessions", "5", "--volunteers", "20", "--assignments", "10"])
            .env("SCIDAY_DATABASE_URL", app.database_url())
            .env("SCIDAY_LOG", "warn")
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(output.status.success(), "{stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("writing a synthetic program into"), "{stderr}");
        let database = sciday::db::DatabaseUrl::new(app.database_url()).to_string();
        for said in [database.as_str(), "2 organizations", "3 venues", "5 sessions", "20 volunteers", "10 assignments", "one transaction"] {
            assert!(first.contains(said), "{said:?} is not in {first:?}");
        }
        assert!(!stderr.contains('\r') && !stderr.contains('\u{1b}'), "no progress bar in a pipe: {stderr:?}");
        assert!(stderr.contains("generated volunteers"), "plain progress lines instead: {stderr}");
    }
}

db_test! {
    async fn the_readme_attaches_a_pdf_the_repository_ships_and_the_service_takes_it(app: TestApp) {
        let root = env!("CARGO_MANIFEST_DIR");
        let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
        let given = readme.split("-F 'file=@").nth(1).expect("the README uploads a file");
        let path = given.split([';', '\'']).next().unwrap();
        let content = std::fs::read(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(content.len() < 2048, "a small sample: {} bytes", content.len());
        // A real PDF: its cross-reference table is where the trailer says.
        let text = String::from_utf8_lossy(&content);
        let offset: usize = text.rsplit("startxref").next().unwrap().trim().trim_end_matches("%%EOF").trim().parse().unwrap();
        assert!(content[offset..].starts_with(b"xref"), "startxref points at the table");
        let seed = app.seed().await;
        let clerk = app.organizer(seed.haizhou).await;
        let plans = format!("/api/v1/programs/{}/plans", seed.program);
        let plan = app.post(&clerk, &plans, crate::plans::form(seed.venue, json!({}))).await;
        assert_eq!(plan.status, StatusCode::CREATED, "{}", plan.body);
        let attachments = format!("{plans}/{}/attachments", id(&plan.body));
        let uploaded = crate::plans::upload(&app, &clerk, &attachments, "筹备工作方案.pdf", &content).await;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
        assert_eq!(uploaded.body["kind"], "pdf");
    }
}
