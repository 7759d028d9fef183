//! Backups: `export` then `import` into an empty database gives back the deployment as it
//! was, on SQLite and PostgreSQL and from one to the other; secrets only when asked for; one
//! program alone; a merge that refuses names the record and the rule; `sciday backup` copies
//! a live SQLite database.

use std::process::Command;

use reqwest::StatusCode;
use sciday::transfer::{self, Document, Options};
use sea_orm::EntityTrait as _;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Backend, TestApp, id};
use crate::plans::upload;

fn sample() -> Document {
    serde_json::from_str(sciday::cli::SAMPLE_PROGRAM).unwrap()
}

const EVERYTHING: Options = Options {
    include_secrets: true,
    include_deliveries: true,
    program: None,
};

async fn export(app: &TestApp, options: Options) -> Document {
    transfer::export(app.db.reader(), options).await.unwrap()
}

/// Writes `document` as `sciday export` does and reads it back, as a file would be.
fn through_a_file(document: &Document) -> Document {
    serde_json::from_slice(&serde_json::to_vec_pretty(document).unwrap()).unwrap()
}

/// Asserts two documents are the same, naming the first record that differs.
#[track_caller]
fn assert_same(actual: &Document, expected: &Document, what: &str) {
    let (actual, expected) = (
        serde_json::to_value(actual).unwrap(),
        serde_json::to_value(expected).unwrap(),
    );
    for (section, records) in expected.as_object().unwrap() {
        let other = &actual[section];
        if let (Some(records), Some(other)) = (records.as_array(), other.as_array()) {
            for (i, (a, b)) in other.iter().zip(records).enumerate() {
                assert_eq!(a, b, "{what}: {section}[{i}] differs");
            }
            assert_eq!(other.len(), records.len(), "{what}: {section} has another length");
        }
    }
    assert_eq!(actual, expected, "{what}");
}

async fn restore(backend: Backend, document: &Document) -> TestApp {
    let fresh = TestApp::spawn_empty(backend).await.unwrap();
    let report = transfer::import(&fresh.db, &through_a_file(document), fresh.policy(), &|| {})
        .await
        .unwrap();
    assert!(report.restored, "an empty database takes a backup as it was");
    fresh
}

async fn slot_id(app: &TestApp) -> i64 {
    sciday::store::sessions::by_key(app.db.reader(), "session.beijing-symposium")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// What the issue lists: the README's move of the Beijing slot (which flags assignments), an
/// override, a cancellation, a plan with an attachment and a review, and a subscription.
/// Returns the ids of an overridden and of a flagged assignment.
async fn live_a_little(app: &TestApp) -> (i64, i64) {
    transfer::import(&app.db, &sample(), app.policy(), &|| {})
        .await
        .unwrap();
    let slot = slot_id(app).await;
    let moved = app
        .patch(
            &app.admin,
            &format!("/api/v1/sessions/{slot}"),
            "*",
            json!({"starts_at": "2019-05-30T14:00:00+08:00"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let flagged = moved.body["flagged_assignments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!flagged.is_empty(), "the README's move flags someone: {}", moved.body);
    let flagged = id(&flagged[0]);

    let sessions = app.get_as(&app.admin, "/api/v1/sessions?limit=500").await;
    let open: Vec<&Value> = sessions.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "scheduled" && s["linked_session_id"].is_null() && id(s) != slot)
        .collect();
    let role = app
        .create(
            "/api/v1/session-roles",
            json!({"session_id": id(open[0]), "name": "医疗保障", "needed": 2,
            "qualifications": ["执业医师"]}),
        )
        .await;
    let newcomer = app
        .create(
            "/api/v1/volunteers",
            json!({"name": "新来的医生", "organization_id": 3}),
        )
        .await;
    let overridden = app
        .post(
            &app.admin,
            "/api/v1/assignments",
            json!({"role_id": id(&role), "volunteer_id": id(&newcomer),
            "override": {"rules": ["qualification"], "reason": "医生证书在补办"}}),
        )
        .await;
    assert_eq!(overridden.status, StatusCode::CREATED, "{}", overridden.body);
    assert_eq!(overridden.body["overridden_rules"], json!(["qualification"]));
    let cancelled = app
        .patch(
            &app.admin,
            &format!("/api/v1/sessions/{}", id(open[1])),
            "*",
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);

    let extended = app
        .request(reqwest::Method::PUT, "/api/v1/programs/1/plan-extensions/8")
        .bearer_auth(&app.admin)
        .json(&json!({"until": "2030-05-17T23:59:59", "reason": "盖章流程延误"}))
        .send()
        .await
        .unwrap();
    assert!(extended.status().is_success());
    let plan = app
        .post(
            &app.admin,
            "/api/v1/programs/1/plans",
            json!({"organization_id": 8, "activity_name": "科技志愿服务进乡村",
            "organizing_unit": "灌云县科技志愿者支队", "venue_id": 2, "joins_video_link": true,
            "contact": {"name": "王芳", "office_phone": "0518-88881234", "mobile": "14400001234"},
            "text": "组建科技志愿服务队，5月30日与北京主会场视频连线举行授旗仪式，随后开展农技咨询和科普讲座。"}),
        )
        .await;
    assert_eq!(plan.status, StatusCode::CREATED, "{}", plan.body);
    let path = format!("/api/v1/programs/1/plans/{}", id(&plan.body));
    let attached = upload(
        app,
        &app.admin,
        &format!("{path}/attachments"),
        "方案.pdf",
        b"%PDF-1.4\n%\xe2\xe3\n",
    )
    .await;
    assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.body);
    let reviewed = app
        .post(
            &app.admin,
            &format!("{path}/review"),
            json!({"status": "shortlisted", "create_session": true}),
        )
        .await;
    assert_eq!(reviewed.status, StatusCode::OK, "{}", reviewed.body);

    let hook = app
        .post(
            &app.admin,
            "/api/v1/webhooks",
            json!({"organization_id": 3, "url": "https://hooks.example.cn/sciday",
            "format": "standard", "scope": {"kind": "program", "id": 1}}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
    (id(&overridden.body), flagged)
}

db_test! {
    async fn a_backup_restores_into_an_empty_database_as_it_was(app: TestApp) {
        let (overridden, flagged) = live_a_little(&app).await;
        let backup = export(&app, EVERYTHING).await;
        assert!(!backup.plans.is_empty() && !backup.webhooks.is_empty() && !backup.plan_extensions.is_empty());
        assert!(!backup.plans[0].attachments.is_empty() && !backup.plans[0].revisions.is_empty());
        assert!(backup.session_changes.iter().any(|c| c.old.starts_at != c.new.starts_at), "the move is history");
        let restored = restore(app.backend, &backup).await;
        // A session's page, its change history included, reads the same.
        let slot = slot_id(&app).await;
        let page = |app: &TestApp| {
            let path = format!("{}/sessions/{slot}", app.address);
            async move { reqwest::get(&path).await.unwrap().text().await.unwrap() }
        };
        let before = page(&app).await;
        assert!(before.contains("时间调整"), "{before}");
        assert_eq!(page(&restored).await.replace(&restored.address, ""), before.replace(&app.address, ""));
        assert_same(&export(&restored, EVERYTHING).await, &backup, "export → import → export");

        // Restored with the same ids, so the same addresses answer the same, and the tokens
        // came back with their hashes: the old admin token works on the restored service.
        for path in [
            format!("/api/v1/assignments/{overridden}"),
            format!("/api/v1/assignments/{flagged}"),
            "/api/v1/programs/1/plans/1".to_owned(),
            "/api/v1/webhooks".to_owned(),
        ] {
            let before = app.get_as(&app.admin, &path).await;
            let after = restored.get_as(&app.admin, &path).await;
            assert_eq!(after.status, StatusCode::OK, "{path}: {}", after.body);
            assert_eq!(after.body, before.body, "{path}");
            assert_eq!(after.header("etag"), before.header("etag"), "{path}");
        }
        let after = restored.get_as(&app.admin, &format!("/api/v1/assignments/{overridden}")).await;
        assert_eq!(after.body["overridden_rules"], json!(["qualification"]), "not judged again");
        let after = restored.get_as(&app.admin, &format!("/api/v1/assignments/{flagged}")).await;
        assert!(after.body["conflicts"].as_array().is_some_and(|c| !c.is_empty()), "still flagged: {}", after.body);
        let feed = "/feeds/programs/1.ics?from=2019-05-01";
        let calendar = |app: &TestApp, text: &str| text.replace(&app.address, "http://sciday");
        assert_eq!(
            calendar(&restored, restored.feed(feed, &[]).await.text()),
            calendar(&app, app.feed(feed, &[]).await.text()),
            "the same calendar, SEQUENCE and LAST-MODIFIED included"
        );

        // New rows get new ids after the restored ones.
        let created = restored.post(&app.admin, "/api/v1/organizations", json!({"name": "赣榆区科协", "kind": "county_association"})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert!(id(&created.body) > backup.organizations.iter().filter_map(|o| o.stored).map(|s| s.id).max().unwrap());
    }
}

db_test! {
    async fn without_secrets_subscriptions_come_back_disabled_and_tokens_revoked(app: TestApp) {
        live_a_little(&app).await;
        let backup = export(&app, Options::default()).await;
        let text = serde_json::to_string(&backup).unwrap();
        let secret = app.get_as(&app.admin, "/api/v1/webhooks").await;
        assert!(backup.webhooks[0].withheld && backup.webhooks[0].secret.is_none());
        assert!(backup.api_tokens.iter().all(|t| t.secret_hash.is_none()));
        assert!(!text.contains("whsec_"), "no signing secret in the file");
        assert!(secret.status.is_success());
        assert!(backup.deliveries.iter().all(|d| d.status == entity::kinds::DeliveryStatus::Pending), "only the waiting outbox");

        let restored = restore(app.backend, &backup).await;
        let token = restored.get_as(&app.admin, "/api/v1/webhooks").await;
        assert_eq!(token.status, StatusCode::UNAUTHORIZED, "a token without its hash cannot be used");
        let hook: entity::webhook::Model = entity::webhook::Entity::find_by_id(backup.webhooks[0].stored.id)
            .one(restored.db.reader())
            .await
            .unwrap()
            .unwrap();
        assert!(!hook.enabled);
        assert!(hook.flag.as_deref().is_some_and(|f| f.contains("--include-secrets")), "{:?}", hook.flag);
    }
}

db_test! {
    async fn a_merge_that_refuses_names_the_record_and_the_rule(app: TestApp) {
        live_a_little(&app).await;
        let backup = export(&app, EVERYTHING).await;
        // A database that holds other data: the file is merged, and judged as it goes in.
        let target = TestApp::spawn(app.backend).await.unwrap();
        target.seed().await;
        let before = export(&target, EVERYTHING).await;
        let error = transfer::import(&target.db, &through_a_file(&backup), target.policy(), &|| {}).await.unwrap_err();
        let sciday::error::Error::Refused(violations) = &error else {
            panic!("expected a refusal, got {error:?}");
        };
        let (at, rest) = violations[0].message.split_once(": ").unwrap();
        let index: usize = at.strip_prefix("assignments[").and_then(|i| i.strip_suffix(']')).unwrap().parse().unwrap();
        assert!(index < backup.assignments.len(), "{at}");
        assert!(!rest.is_empty());
        assert_eq!(export(&target, EVERYTHING).await, before, "nothing of the file was written");
    }
}

db_test! {
    async fn a_merge_leaves_out_what_only_a_restore_can_bring_and_says_so(app: TestApp) {
        transfer::import(&app.db, &sample(), app.policy(), &|| {}).await.unwrap();
        app.post(&app.admin, "/api/v1/webhooks", json!({"organization_id": 3, "url": "https://hooks.example.cn/sciday",
            "format": "standard", "scope": {"kind": "program", "id": 1}})).await;
        let backup = export(&app, EVERYTHING).await;
        let target = TestApp::spawn(app.backend).await.unwrap();
        let error = transfer::import(&target.db, &backup, target.policy(), &|| {}).await.unwrap_err();
        assert!(matches!(error, sciday::error::Error::Conflict { code: "not_empty", .. }), "{error:?}");
        transfer::import(&target.db, &sample(), target.policy(), &|| {}).await.unwrap();
        let report = transfer::import(&target.db, &backup, target.policy(), &|| {}).await.unwrap();
        assert!(!report.restored);
        assert!(report.left_out.iter().any(|l| l.contains("1 webhook subscription(s)")), "{:?}", report.left_out);
        assert_eq!(target.count("webhooks").await, 0);
    }
}

db_test! {
    async fn one_program_exports_with_what_it_needs_and_restores_alone(app: TestApp) {
        live_a_little(&app).await;
        let all = export(&app, EVERYTHING).await;
        let one = export(&app, Options { program: Some(1), ..EVERYTHING }).await;
        assert!(one.programs.iter().any(|p| p.stored.is_some_and(|s| s.id == 1)));
        assert!(one.sessions.len() <= all.sessions.len());
        assert!(one.sessions.iter().any(|s| s.key == "session.beijing-symposium"), "the slot its ceremonies follow");
        assert_eq!(one.plans.len(), all.plans.len());
        let restored = restore(app.backend, &one).await;
        assert_same(&export(&restored, EVERYTHING).await, &one, "one program");
        let missing = transfer::export(app.db.reader(), Options { program: Some(999), ..EVERYTHING }).await;
        assert!(matches!(missing, Err(sciday::error::Error::NotFound(_))));
    }
}

/// A PostgreSQL test app, or `None` (said on stderr) when `TEST_DATABASE_URL` is not set.
async fn postgres(empty: bool) -> Option<TestApp> {
    let app = if empty {
        TestApp::spawn_empty(Backend::Postgres).await
    } else {
        TestApp::spawn(Backend::Postgres).await
    };
    if app.is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set, so there is no PostgreSQL to restore into");
    }
    app
}

#[tokio::test]
async fn a_backup_moves_from_sqlite_to_postgresql_and_back() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    live_a_little(&app).await;
    let backup = export(&app, EVERYTHING).await;
    let Some(on_postgres) = postgres(true).await else {
        return;
    };
    transfer::import(&on_postgres.db, &through_a_file(&backup), on_postgres.policy(), &|| {})
        .await
        .unwrap();
    let from_postgres = export(&on_postgres, EVERYTHING).await;
    assert_eq!(from_postgres, backup, "SQLite → PostgreSQL");
    let back = restore(Backend::Sqlite, &from_postgres).await;
    assert_same(&export(&back, EVERYTHING).await, &backup, "and back to SQLite");
}

db_test! {
    async fn a_generated_program_of_ten_thousand_volunteers_round_trips(app: TestApp) {
        let sizes = sciday::generate::Sizes {
            organizations: 20,
            venues: 40,
            sessions: 400,
            volunteers: 10_000,
            assignments: 4_000,
            seats_per_session: 10,
            days: 10,
            first_day: "2027-05-21".parse().unwrap(),
            seed: 2019,
        };
        sciday::generate::generate(&app.db, &sizes, app.policy().now, &|_| {}).await.unwrap();
        let backup = export(&app, EVERYTHING).await;
        assert_eq!(backup.volunteers.len(), 10_000);
        let restored = restore(app.backend, &backup).await;
        assert_same(&export(&restored, EVERYTHING).await, &backup, "a generated program");
    }
}

/// `sciday` run as its own process against `database_url`.
fn sciday(database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sciday"))
        .args(args)
        .env("SCIDAY_DATABASE_URL", database_url)
        .env("SCIDAY_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn sciday_backup_copies_a_live_sqlite_database_that_restores() {
    let dir = tempfile::tempdir().unwrap();
    let live = format!("sqlite://{}", dir.path().join("live.db").display());
    let mut server = Command::new(env!("CARGO_BIN_EXE_sciday"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--no-dispatcher"])
        .env("SCIDAY_DATABASE_URL", &live)
        .env("SCIDAY_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(server.stdout.take().unwrap()));
    let listening = lines.next().unwrap().unwrap();
    assert!(listening.starts_with("sciday listens on"), "{listening}");
    let copy = dir.path().join("copy.db");
    let output = sciday(&live, &["backup", copy.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("to restore it"), "it says how to restore: {stderr}");
    let again = sciday(&live, &["backup", copy.to_str().unwrap()]);
    assert!(!again.status.success(), "an existing file is never overwritten");
    let copied = sciday(
        &format!("sqlite://{}", copy.display()),
        &["export", "--include-secrets"],
    );
    let original = sciday(&live, &["export", "--include-secrets"]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(copied.status.success(), "{}", String::from_utf8_lossy(&copied.stderr));
    assert_eq!(
        copied.stdout, original.stdout,
        "the copy holds what the live database held"
    );
    let document: Document = serde_json::from_slice(&copied.stdout).unwrap();
    assert_eq!(document.activities.len(), 11);
}

#[test]
fn sciday_backup_points_postgresql_to_pg_dump() {
    let output = sciday(
        "postgres://postgres@127.0.0.1:1/none",
        &["backup", "/tmp/never-written.db"],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
}

db_test! {
    async fn the_command_line_restores_a_backup_and_says_so(app: TestApp) {
        live_a_little(&app).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("backup.json");
        let written = sciday(app.database_url(), &["export", "--include-secrets", "--output", file.to_str().unwrap()]);
        assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
        let fresh = TestApp::spawn_empty(app.backend).await.unwrap();
        let output = sciday(fresh.database_url(), &["import", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("restored") && stderr.contains("webhooks:      1"), "{stderr}");
        let merged = sciday(app.database_url(), &["import", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&merged.stderr);
        assert!(merged.status.success(), "{stderr}");
        assert!(stderr.contains("left out: 1 webhook subscription(s)"), "{stderr}");
    }
}
