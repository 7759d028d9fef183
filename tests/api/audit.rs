//! The audit trail (`/api/v1/audit`) and the request ids that tie answers, logs and entries
//! together.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::dispatch::quick;
use crate::helpers::{TestApp, id};
use crate::served::Served;
use crate::sessions::beijing_slot;

/// The entries the admin sees for a query.
async fn entries(app: &TestApp, query: &str) -> Vec<Value> {
    let reply = app.get_as(&app.admin, &format!("/api/v1/audit?{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["data"].as_array().cloned().unwrap_or_default()
}

/// The id of the token named `name`.
async fn token_id(app: &TestApp, name: &str) -> i64 {
    let tokens = app.get_as(&app.admin, "/api/v1/tokens").await;
    let found = tokens.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name);
    id(found.expect("the token is listed"))
}

db_test! {
    async fn each_write_says_who_made_it_when_and_which_fields_changed(app: TestApp) {
        let seed = app.seed().await;
        let session = app.session(seed.activity, seed.venue, "2019-05-30T09:00", "2019-05-30T11:00").await;
        let path = format!("/api/v1/sessions/{}", id(&session));
        let moved = app
            .patch(&app.admin, &path, "*", json!({"starts_at": "2019-05-30T10:00", "capacity": 80}))
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        let request_id = moved.header("x-request-id").expect("every answer names its request");

        let trail = entries(&app, &format!("object=session:{}", id(&session))).await;
        assert_eq!(trail.len(), 2, "a create and an update: {trail:?}");
        let (update, create) = (&trail[0], &trail[1]);
        assert_eq!(create["action"], "create");
        assert_eq!(create["changes"]["venue_id"]["new"], seed.venue);
        assert_eq!(update["action"], "update");
        assert_eq!(update["object"], format!("session:{}", id(&session)));
        assert_eq!(update["actor_role"], "admin");
        assert_eq!(update["token_id"], token_id(&app, "test admin").await);
        assert_eq!(update["request_id"], request_id.as_str());
        assert_eq!(update["organization_id"], seed.haizhou, "the activity's organizer");
        assert_eq!(update["changes"]["capacity"], json!({"old": null, "new": 80}));
        assert_eq!(update["changes"]["starts_at"]["old"], "2019-05-30T01:00:00+00:00");
        assert_eq!(update["changes"]["starts_at"]["new"], "2019-05-30T02:00:00+00:00");
        assert!(update["changes"].get("version").is_none() && update["changes"].get("updated_at").is_none());

        // Filters: by action, by author, by time.
        assert_eq!(entries(&app, &format!("object=session:{}&action=update", id(&session))).await.len(), 1);
        let by_token = format!("actor=token:{}&object=session", token_id(&app, "test admin").await);
        assert_eq!(entries(&app, &by_token).await.len(), 2);
        assert!(entries(&app, "actor=cli").await.is_empty());
        assert!(entries(&app, "from=2100-01-01").await.is_empty());
        assert_eq!(entries(&app, "object=session&from=2000-01-01&to=2100-01-01").await.len(), 2);
    }
}

db_test! {
    async fn a_moved_slot_shows_one_entry_for_itself_and_one_for_each_session_it_moved(app: TestApp) {
        let seed = app.seed().await;
        let (slot, linked) = beijing_slot(&app, &seed, 2).await;
        let moved = app
            .patch(&app.admin, &format!("/api/v1/sessions/{}", id(&slot)), "*", json!({"starts_at": "2019-05-30T14:00:00+08:00"}))
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        let slot_entries = entries(&app, &format!("object=session:{}&action=update", id(&slot))).await;
        assert_eq!(slot_entries.len(), 1);
        let cause = id(&slot_entries[0]);
        assert!(slot_entries[0]["cause_id"].is_null());
        let followers = entries(&app, &format!("cause_id={cause}")).await;
        let mut moved_ids: Vec<i64> = followers.iter().map(|e| e["object_id"].as_i64().unwrap()).collect();
        moved_ids.sort_unstable();
        let mut expected: Vec<i64> = linked.iter().map(id).collect();
        expected.sort_unstable();
        assert_eq!(moved_ids, expected, "{followers:?}");
        for entry in &followers {
            assert_eq!(entry["action"], "update");
            assert_eq!(entry["request_id"], slot_entries[0]["request_id"]);
            assert_eq!(entry["changes"]["starts_at"]["new"], "2019-05-30T06:00:00+00:00");
        }
    }
}

db_test! {
    async fn a_refused_write_leaves_no_entry(app: TestApp) {
        let seed = app.seed().await;
        let session = app.session(seed.activity, seed.venue, "2019-05-30T09:00", "2019-05-30T11:00").await;
        let path = format!("/api/v1/sessions/{}", id(&session));
        let before = app.count("audit_entries").await;
        let stale = app.patch(&app.admin, &path, "\"99\"", json!({"capacity": 5})).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
        let invalid = app.patch(&app.admin, &path, "*", json!({"capacity": -1})).await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Refused after the change was written: the venue still has a session.
        let in_use = app.delete(&app.admin, &format!("/api/v1/venues/{}", seed.venue)).await;
        assert_eq!(in_use.status, StatusCode::CONFLICT, "{}", in_use.body);
        let unchanged = app.patch(&app.admin, &path, "*", json!({})).await;
        assert_eq!(unchanged.status, StatusCode::OK);
        assert_eq!(app.count("audit_entries").await, before, "no change, no entry");
    }
}

db_test! {
    async fn organizers_read_the_entries_of_their_organizations_only(app: TestApp) {
        let seed = app.seed().await;
        let haizhou_session = app.session(seed.activity, seed.venue, "2019-05-30T09:00", "2019-05-30T11:00").await;
        let ganyu_team = app
            .create("/api/v1/teams", json!({"name": "赣榆区分队", "organization_id": seed.ganyu}))
            .await;
        let haizhou = app.organizer(seed.haizhou).await;
        let reply = app.get_as(&haizhou, "/api/v1/audit?limit=500").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let objects: Vec<&str> = reply.body["data"].as_array().unwrap().iter().map(|e| e["object"].as_str().unwrap()).collect();
        assert!(objects.contains(&format!("session:{}", id(&haizhou_session)).as_str()), "{objects:?}");
        assert!(!objects.contains(&format!("team:{}", id(&ganyu_team)).as_str()), "{objects:?}");
        assert!(!objects.iter().any(|o| o.starts_with("program:")), "the city's program is not Haizhou's: {objects:?}");
        let hidden = app.get_as(&haizhou, &format!("/api/v1/audit?object=team:{}", id(&ganyu_team))).await;
        assert_eq!(hidden.body["data"], json!([]));

        let volunteer = app
            .create("/api/v1/volunteers", json!({"name": "张三", "organization_id": seed.haizhou}))
            .await;
        let volunteer_token = app.volunteer_token(id(&volunteer)).await;
        let refused = app.get_as(&volunteer_token, "/api/v1/audit").await;
        refused.problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(app.get("/api/v1/audit").await.status, StatusCode::UNAUTHORIZED);
        let bad = app.get_as(&app.admin, "/api/v1/audit?object=sessions:x&actor=root&action=DROP").await;
        assert_eq!(bad.invalid_fields(), ["object", "actor", "action"]);
    }
}

db_test! {
    async fn personal_data_in_old_and_new_values_is_masked(app: TestApp) {
        let seed = app.seed().await;
        let volunteer = app
            .create("/api/v1/volunteers", json!({"name": "张三", "organization_id": seed.haizhou, "mobile": "13812345678", "email": "zhangsan@lyg.cn"}))
            .await;
        let path = format!("/api/v1/volunteers/{}", id(&volunteer));
        let team = app.create("/api/v1/teams", json!({"name": "科普志愿者服务团", "organization_id": seed.haizhou})).await;
        let changed = app
            .patch(&app.admin, &path, "*", json!({"mobile": "13987654321", "teams": [{"team_id": id(&team), "leader": true}]}))
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        let renewed = app.post(&app.admin, &format!("{path}/feed-token"), json!({})).await;
        assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);

        let reply = app.get_as(&app.admin, &format!("/api/v1/audit?object=volunteer:{}", id(&volunteer))).await;
        let text = reply.body.to_string();
        for secret in ["13812345678", "13987654321", "zhangsan@", volunteer["feed_url"].as_str().unwrap_or("none")] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let trail = reply.body["data"].as_array().unwrap();
        let update = trail.iter().find(|e| e["action"] == "update").unwrap();
        assert_eq!(update["changes"]["mobile"], json!({"old": "138****5678", "new": "139****4321"}));
        assert_eq!(update["changes"]["teams"], json!({"old": [], "new": [{"team_id": id(&team), "leader": true}]}));
        assert!(update["changes"].get("qualifications").is_none(), "unchanged lists are not listed");
        let create = trail.iter().find(|e| e["action"] == "create").unwrap();
        assert_eq!(create["changes"]["email"]["new"], "z***@lyg.cn");
        let renewal = trail.iter().find(|e| e["action"] == "renew_feed_link").expect("the renewal is recorded");
        assert_eq!(renewal["changes"]["feed_token"], json!({"old": "[redacted]", "new": "[redacted]"}));
    }
}

db_test! {
    async fn the_trail_is_pruned_after_its_retention(app: TestApp) {
        let seed = app.seed().await;
        let kept = app.count("audit_entries").await;
        assert!(kept > 0);
        let dispatcher = quick(&app);
        app.clock.advance(TimeDelta::days(399));
        assert_eq!(dispatcher.prune_audit().await.unwrap(), 0, "kept 400 days by default");
        app.session(seed.activity, seed.venue, "2020-05-30T09:00", "2020-05-30T11:00").await;
        app.clock.advance(TimeDelta::days(2));
        assert_eq!(dispatcher.prune_audit().await.unwrap(), u64::try_from(kept).unwrap());
        assert_eq!(app.count("audit_entries").await, 1, "the newer entry stays");
    }
}

db_test! {
    async fn every_answer_names_its_request_and_problems_quote_it_as_instance(app: TestApp) {
        let missing = app.get("/api/v1/sessions/999999").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let request_id = missing.header("x-request-id").unwrap();
        assert_eq!(request_id.len(), 32);
        assert_eq!(missing.body["instance"], request_id.as_str());
        let again = app.get("/api/v1/sessions/999999").await;
        assert_ne!(again.header("x-request-id").unwrap(), request_id, "each request has its own");

        // A proxy's plain id is kept; anything else is replaced.
        let given = app
            .request(reqwest::Method::GET, "/api/v1/programs/999999")
            .header("X-Request-Id", "lb-7f3a.42")
            .send()
            .await
            .unwrap();
        assert_eq!(given.headers()["x-request-id"], "lb-7f3a.42");
        let body: Value = given.json().await.unwrap();
        assert_eq!(body["instance"], "lb-7f3a.42");
        let odd = app
            .request(reqwest::Method::GET, "/healthz")
            .header("X-Request-Id", "a b c")
            .send()
            .await
            .unwrap();
        assert_ne!(odd.headers()["x-request-id"], "a b c");
        let page = app.get("/").await;
        assert!(page.header("x-request-id").is_some(), "pages too");
    }
}

db_test! {
    async fn each_write_is_logged_with_its_actor_and_every_line_of_a_request_with_its_id(app: TestApp) {
        let mut served = Served::start(app.database_url(), &["--listen", "127.0.0.1:0", "--demo", "--log-format", "json"], "info").await;
        let mut token = String::new();
        while token.is_empty() {
            let line = served.said().await;
            if let Some((_, secret)) = line.split_once("admin token (shown only now; keep it): ") {
                secret.trim().clone_into(&mut token);
            }
        }
        served.logged_until("sciday is ready").await;
        let client = reqwest::Client::new();
        let answer = client
            .patch(format!("{}/api/v1/sessions/1", served.address))
            .bearer_auth(&token)
            .header("If-Match", "*")
            .header("Content-Type", "application/merge-patch+json")
            .header("X-Request-Id", "trace-me-0001")
            .body(json!({"capacity": 120}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let logged = served.logged_until("finished processing request").await;
        let records: Vec<Value> = logged
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
            .filter(|record: &Value| record["span"]["request_id"] == "trace-me-0001")
            .collect();
        let write = records.iter().find(|r| r["message"] == "write").unwrap_or_else(|| panic!("no write record in {logged:?}"));
        assert_eq!(write["level"], "INFO");
        assert_eq!(write["action"], "update");
        assert_eq!(write["object"], "session:1");
        assert_eq!(write["actor"], "admin");
        assert!(write["token"].as_i64().is_some_and(|t| t > 0), "{write}");
        assert!(records.iter().any(|r| r["message"] == "finished processing request"), "the response line too");
        served.stop().await;
    }
}
