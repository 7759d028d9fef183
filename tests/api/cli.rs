//! The `sciday` command line, run as a separate process against the test's database.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::TestApp;

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
