//! The authorization matrix, read from the OpenAPI document: every write, done to records of
//! 海州区科协, is refused to an organizer of 赣榆区科协 and to a volunteer token (403 or 404),
//! and every operation that the document says needs a token answers 401 without one. A new
//! endpoint joins the matrix by appearing in the document; the test fails until it has a
//! body and path ids here.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Reply, TestApp, id};
use crate::plans::{form, upload};

/// Records of 海州区科协, one of each kind a path can name.
struct World {
    /// Ids by the path segment that precedes them (`programs`, `plans`, …).
    ids: HashMap<&'static str, i64>,
    haizhou: i64,
    ganyu: i64,
    program: i64,
    activity: i64,
    venue: i64,
    session: i64,
    role: i64,
    free_volunteer: i64,
}

async fn world(app: &TestApp) -> World {
    let seed = app.seed().await;
    let venue = id(&app
        .create("/api/v1/venues", json!({"name": "海州区党群服务中心", "kind": "party_masses_service_center", "time_zone": "Asia/Shanghai", "organization_id": seed.haizhou}))
        .await);
    let webhook = id(&app
        .create(
            "/api/v1/webhooks",
            json!({"organization_id": seed.haizhou, "url": "https://hooks.example.cn/in", "format": "standard",
                                           "scope": {"kind": "organization", "id": seed.haizhou}}),
        )
        .await);
    let session = id(&app
        .session(
            seed.activity,
            venue,
            "2019-05-30T09:00:00+08:00",
            "2019-05-30T11:00:00+08:00",
        )
        .await);
    let role = id(&app
        .create(
            "/api/v1/session-roles",
            json!({"session_id": session, "name": "讲解员", "needed": 3}),
        )
        .await);
    let team = id(&app
        .create(
            "/api/v1/teams",
            json!({"name": "海州区分队", "organization_id": seed.haizhou}),
        )
        .await);
    let volunteer = id(&app
        .create(
            "/api/v1/volunteers",
            json!({"name": "王芳", "organization_id": seed.haizhou}),
        )
        .await);
    let free_volunteer = id(&app
        .create(
            "/api/v1/volunteers",
            json!({"name": "张伟", "organization_id": seed.haizhou}),
        )
        .await);
    let assignment = id(&app
        .create(
            "/api/v1/assignments",
            json!({"role_id": role, "volunteer_id": volunteer}),
        )
        .await);
    let deliveries = app
        .get_as(&app.admin, &format!("/api/v1/webhooks/{webhook}/deliveries"))
        .await;
    let delivery = id(&deliveries.body["data"][0]);
    let plans = format!("/api/v1/programs/{}/plans", seed.program);
    let plan = id(&app
        .create(&plans, form(venue, json!({"organization_id": seed.haizhou})))
        .await);
    let attachment = upload(
        app,
        &app.admin,
        &format!("{plans}/{plan}/attachments"),
        "方案.pdf",
        b"%PDF-1.4\n%\xe2\xe3\n",
    )
    .await;
    assert_eq!(attachment.status, StatusCode::CREATED, "{}", attachment.body);
    let token = app
        .create(
            "/api/v1/tokens",
            json!({"name": "海州区", "role": "organizer", "organization_id": seed.haizhou}),
        )
        .await;
    let ids = HashMap::from([
        ("activities", seed.activity),
        ("assignments", assignment),
        ("organizations", seed.haizhou),
        ("programs", seed.program),
        ("plan-extensions", seed.haizhou),
        ("plans", plan),
        ("attachments", id(&attachment.body)),
        ("session-roles", role),
        ("sessions", session),
        ("teams", team),
        ("tokens", id(&token)),
        ("venues", venue),
        ("volunteers", volunteer),
        ("webhooks", webhook),
        ("deliveries", delivery),
    ]);
    World {
        ids,
        haizhou: seed.haizhou,
        ganyu: seed.ganyu,
        program: seed.program,
        activity: seed.activity,
        venue,
        session,
        role,
        free_volunteer,
    }
}

/// The path with each `{param}` replaced by the id of the record its preceding segment names.
fn concrete(template: &str, world: &World) -> String {
    let mut previous = "";
    template
        .split('/')
        .map(|segment| {
            let filled = if segment.starts_with('{') {
                let id = world
                    .ids
                    .get(previous)
                    .unwrap_or_else(|| panic!("{template}: add a record for `{previous}` to the matrix's world"));
                id.to_string()
            } else {
                segment.to_owned()
            };
            previous = segment;
            filled
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A body that would be accepted from someone allowed to do this.
fn body(method: &Method, template: &str, world: &World) -> Option<Value> {
    let w = world;
    let session_times = json!({"starts_at": "2019-05-31T09:00:00+08:00", "ends_at": "2019-05-31T10:00:00+08:00"});
    let assignment = json!({"role_id": w.role, "volunteer_id": w.free_volunteer});
    let body = match (method.as_str(), template) {
        ("POST", "/api/v1/activities") => {
            json!({"program_id": w.program, "title": "科普讲座", "organization_id": w.haizhou})
        }
        ("PATCH", "/api/v1/activities/{id}") => json!({"display_order": 9}),
        ("POST", "/api/v1/assignments") => assignment,
        ("POST", "/api/v1/assignments/batch") => json!({"items": [assignment]}),
        ("POST", "/api/v1/assignments/{id}/cancel") => json!({"reason": "行程冲突"}),
        ("POST", "/api/v1/assignments/{id}/decline") => json!({"reason": "请假"}),
        ("POST", "/api/v1/organizations") => {
            json!({"parent_id": w.haizhou, "kind": "other", "name": "海州区青年科技工作者协会"})
        }
        ("PATCH", "/api/v1/organizations/{id}") => json!({"short_name": "海州区科协"}),
        ("POST", "/api/v1/programs") => {
            json!({"name": "海州区科技活动周", "time_zone": "Asia/Shanghai", "host_organization_id": w.haizhou})
        }
        ("PATCH", "/api/v1/programs/{id}") => json!({"theme": "礼赞共和国"}),
        ("PUT", "/api/v1/programs/{id}/plan-extensions/{organization_id}") => {
            json!({"until": "2019-05-24T23:59:59", "reason": "盖章流程"})
        }
        ("POST", "/api/v1/programs/{id}/plans") => form(w.venue, json!({"organization_id": w.haizhou})),
        ("PUT", "/api/v1/programs/{id}/plans/{plan_id}") => {
            form(w.venue, json!({"activity_name": "科技志愿服务进社区"}))
        }
        ("POST", "/api/v1/programs/{id}/plans/{plan_id}/review") => json!({"status": "shortlisted"}),
        ("POST", "/api/v1/session-roles") => json!({"session_id": w.session, "name": "引导员", "needed": 2}),
        ("PATCH", "/api/v1/session-roles/{id}") => json!({"needed": 4}),
        ("POST", "/api/v1/sessions") => {
            let mut session = json!({"activity_id": w.activity, "venue_id": w.venue});
            session
                .as_object_mut()
                .unwrap()
                .extend(session_times.as_object().unwrap().clone());
            session
        }
        ("PATCH", "/api/v1/sessions/{id}") => json!({"title": "科普讲座（第二场）"}),
        ("POST", "/api/v1/teams") => json!({"name": "海州区第二分队", "organization_id": w.haizhou}),
        ("PATCH", "/api/v1/teams/{id}") => json!({"description": "社区科普"}),
        ("POST", "/api/v1/tokens") => json!({"name": "王芳", "role": "volunteer", "volunteer_id": w.free_volunteer}),
        ("POST", "/api/v1/venues") => {
            json!({"name": "海州区科普馆", "kind": "other", "time_zone": "Asia/Shanghai", "organization_id": w.haizhou})
        }
        ("PATCH", "/api/v1/venues/{id}") => json!({"address": "海州区朝阳街道"}),
        ("POST", "/api/v1/volunteers") => json!({"name": "李娜", "organization_id": w.haizhou}),
        ("PATCH", "/api/v1/volunteers/{id}") => json!({"tags": ["科学普及"]}),
        ("POST", "/api/v1/webhooks") => {
            json!({"organization_id": w.haizhou, "url": "https://hooks.example.cn/second", "format": "standard",
                                               "scope": {"kind": "organization", "id": w.haizhou}})
        }
        ("PATCH", "/api/v1/webhooks/{id}") => json!({"name": "海州区志愿者群"}),
        ("POST", "/api/v1/programs/{id}/plans/{plan_id}/attachments") => return None,
        (_, _) => return None,
    };
    Some(body)
}

/// Sends one request as `token` (none: anonymously).
async fn send(app: &TestApp, method: &Method, template: &str, world: &World, token: Option<&str>) -> Reply {
    let path = concrete(template, world);
    if template.ends_with("/attachments") && method == Method::POST {
        let token = token.unwrap_or("");
        if token.is_empty() {
            let response = app
                .request(Method::POST, &path)
                .header("Content-Type", "multipart/form-data; boundary=x")
                .body("--x--\r\n")
                .send()
                .await
                .unwrap();
            return Reply::from_response(response).await;
        }
        return upload(app, token, &path, "方案.pdf", b"%PDF-1.4\n").await;
    }
    let mut request = app.request(method.clone(), &path).header("If-Match", "*");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let writes = !matches!(*method, Method::GET | Method::HEAD);
    match body(method, template, world) {
        Some(body) => request = request.json(&body),
        None if writes && !matches!(*method, Method::DELETE) => {
            // Actions without a body (confirm, check-in, …) must be listed as such.
            assert!(
                [
                    "/confirm",
                    "/check-in",
                    "/no-show",
                    "/feed-token",
                    "/page-token",
                    "/resend",
                    "/test"
                ]
                .iter()
                .any(|a| template.ends_with(a)),
                "{method} {template}: add a body for it to the matrix"
            );
        }
        None => {}
    }
    Reply::from_response(request.send().await.unwrap()).await
}

/// Whether a reply refuses the caller: 403 or 404 (a batch answers per item).
fn refused(template: &str, reply: &Reply) -> bool {
    if template == "/api/v1/assignments/batch" && reply.status == StatusCode::OK {
        let results = reply.body["results"].as_array().unwrap();
        return !results.is_empty() && results.iter().all(|r| matches!(r["status"].as_u64(), Some(403 | 404)));
    }
    matches!(reply.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
}

db_test! {
    async fn every_write_in_the_document_is_refused_to_other_organizations_and_volunteers_and_needs_a_token(app: TestApp) {
        let world = world(&app).await;
        let other = app.organizer(world.ganyu).await;
        let stranger = id(&app.create("/api/v1/volunteers", json!({"name": "赵强", "organization_id": world.ganyu})).await);
        let volunteer = app.volunteer_token(stranger).await;
        let document: Value = app.get("/api/v1/openapi.json").await.body;
        let before = app.get_as(&app.admin, "/api/v1/assignments").await.body;
        let mut writes = 0;
        let mut guarded = 0;
        for (template, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
                let needs_token = operation["security"].as_array().is_some_and(|s| !s.is_empty() && s.iter().all(|r| r.as_object().is_some_and(|r| !r.is_empty())));
                let write = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
                assert!(!write || needs_token, "{method} {template} writes but the document does not say it needs a token");
                if !needs_token {
                    continue;
                }
                guarded += 1;
                let anonymous = send(&app, &method, template, &world, None).await;
                assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{method} {template} anonymously: {}", anonymous.body);
                if !write {
                    continue;
                }
                writes += 1;
                for (who, token) in [("another organization's organizer", &other), ("a volunteer", &volunteer)] {
                    let reply = send(&app, &method, template, &world, Some(token)).await;
                    assert!(refused(template, &reply), "{method} {template} by {who}: {} {}", reply.status, reply.body);
                }
            }
        }
        assert!(writes >= 40 && guarded > writes, "the document's operations were read ({writes} writes, {guarded} guarded)");
        assert_eq!(app.get_as(&app.admin, "/api/v1/assignments").await.body, before, "nothing was assigned");
        // Every path id named a record that exists, so no 404 above was a missing record.
        for (segment, id) in &world.ids {
            let path = match *segment {
                "plan-extensions" | "attachments" | "deliveries" | "tokens" => continue,
                "plans" => format!("/api/v1/programs/{}/plans/{id}", world.program),
                other => format!("/api/v1/{other}/{id}"),
            };
            assert_eq!(app.get_as(&app.admin, &path).await.status, StatusCode::OK, "{path}");
        }
    }
}
