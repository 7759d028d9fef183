//! Bearer tokens: every write endpoint refuses a missing token, a bad token, and an
//! organizer of another organization.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, id};

/// Every write endpoint, with a body that would succeed for an admin.
fn writes(seed: &crate::helpers::Seed, session: i64, token_id: i64) -> Vec<(Method, String, Value)> {
    let s = seed;
    vec![
        (
            Method::POST,
            "/api/v1/organizations".into(),
            json!({"parent_id": s.city, "kind": "society", "name": "学会"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/organizations/{}", s.haizhou),
            json!({"name": "改"}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/organizations/{}", s.haizhou),
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/venues".into(),
            json!({"name": "馆", "kind": "other", "time_zone": "Asia/Shanghai", "organization_id": s.haizhou}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/venues/{}", s.venue),
            json!({"name": "改"}),
        ),
        (Method::DELETE, format!("/api/v1/venues/{}", s.venue), Value::Null),
        (
            Method::POST,
            "/api/v1/programs".into(),
            json!({"name": "计划", "time_zone": "Asia/Shanghai", "host_organization_id": s.haizhou}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/programs/{}", s.program),
            json!({"name": "改"}),
        ),
        (Method::DELETE, format!("/api/v1/programs/{}", s.program), Value::Null),
        (
            Method::POST,
            "/api/v1/activities".into(),
            json!({"program_id": s.program, "title": "活动", "organization_id": s.haizhou}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/activities/{}", s.activity),
            json!({"title": "改"}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/activities/{}", s.activity),
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/sessions".into(),
            json!({"activity_id": s.activity, "venue_id": s.venue, "starts_at": "2019-05-20T09:00", "ends_at": "2019-05-20T10:00"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/sessions/{session}"),
            json!({"title": "改"}),
        ),
        (Method::DELETE, format!("/api/v1/sessions/{session}"), Value::Null),
        (
            Method::POST,
            "/api/v1/tokens".into(),
            json!({"name": "t", "role": "admin"}),
        ),
        (Method::DELETE, format!("/api/v1/tokens/{token_id}"), Value::Null),
    ]
}

async fn send(app: &TestApp, method: &Method, path: &str, body: &Value, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = app.request(method.clone(), path).header("If-Match", "*");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if !body.is_null() {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json", "{method} {path}");
    (status, response.json().await.unwrap())
}

async fn snapshot(app: &TestApp) -> Vec<Value> {
    let mut state = Vec::new();
    for list in ["organizations", "venues", "programs", "activities", "sessions"] {
        state.push(app.get_as(&app.admin, &format!("/api/v1/{list}")).await.body);
    }
    // Every token as it was, apart from when it was last presented.
    let mut tokens = app.get_as(&app.admin, "/api/v1/tokens").await.body;
    for token in tokens["data"].as_array_mut().unwrap() {
        token.as_object_mut().unwrap().remove("last_used_at");
    }
    state.push(tokens);
    state
}

db_test! {
    async fn every_write_refuses_missing_bad_and_out_of_scope_tokens_and_changes_nothing(app: TestApp) {
        let seed = app.seed().await;
        let session = app.session(seed.activity, seed.venue, "2019-05-20T09:00+08:00", "2019-05-20T11:00+08:00").await;
        let ganyu = app.organizer(seed.ganyu).await;
        let tokens = app.get_as(&app.admin, "/api/v1/tokens").await;
        let token_id = id(&tokens.body["data"][0]);
        let before = snapshot(&app).await;
        for (method, path, body) in writes(&seed, id(&session), token_id) {
            let (status, problem) = send(&app, &method, &path, &body, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a token: {problem}");
            let (status, _) = send(&app, &method, &path, &body, Some("sciday_not-a-real-token")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with a bad token");
            let (status, problem) = send(&app, &method, &path, &body, Some(&ganyu)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} by another organization: {problem}");
        }
        assert_eq!(snapshot(&app).await, before, "refused writes change nothing");
    }
}

db_test! {
    async fn unauthenticated_answers_say_how_to_authenticate(app: TestApp) {
        let reply = app.post("not-a-token", "/api/v1/organizations", json!({})).await;
        reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_eq!(reply.header("www-authenticate").as_deref(), Some("Bearer realm=\"sciday\""));
        let basic = app
            .request(Method::GET, "/api/v1/organizations")
            .header("Authorization", "Basic YWRtaW46YWRtaW4=")
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
        // Credentials are judged before anything else about the request.
        let garbled = app
            .request(Method::PATCH, "/api/v1/organizations/1")
            .header("If-Match", "not an etag")
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        assert_eq!(garbled.status(), StatusCode::UNAUTHORIZED);
        let bad_query = app.request(Method::GET, "/api/v1/tokens?limit=zero").send().await.unwrap();
        assert_eq!(bad_query.status(), StatusCode::UNAUTHORIZED);
    }
}

db_test! {
    async fn reading_public_data_needs_no_token(app: TestApp) {
        let seed = app.seed().await;
        app.session(seed.activity, seed.venue, "2019-05-20T09:00+08:00", "2019-05-20T11:00+08:00").await;
        for path in ["/api/v1/organizations", "/api/v1/venues", "/api/v1/programs", "/api/v1/activities", "/api/v1/sessions"] {
            let reply = app.get(path).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}");
            assert_eq!(reply.ids().len().min(1), 1, "{path} shows public data");
        }
        app.get("/api/v1/tokens").await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}
