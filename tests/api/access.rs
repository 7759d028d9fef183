//! Who may read and steer what: webhook scopes, whose program and venue an organizer may use,
//! who sees the volunteer roster, and authentication before anything else.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Seed, TestApp, id};

/// Another organization's records that an organizer of 海州区科协 must not reach: 赣榆区科协's
/// hidden activity, venue, team and volunteer.
struct Others {
    hidden_activity: i64,
    venue: i64,
    team: i64,
    volunteer: i64,
}

async fn others(app: &TestApp, seed: &Seed) -> Others {
    let hidden_activity = id(&app
        .create(
            "/api/v1/activities",
            json!({"program_id": seed.program, "title": "赣榆区内部筹备会", "organization_id": seed.ganyu, "public": false}),
        )
        .await);
    let venue = id(&app
        .create(
            "/api/v1/venues",
            json!({"name": "赣榆区科技馆", "kind": "other", "time_zone": "Asia/Shanghai", "organization_id": seed.ganyu}),
        )
        .await);
    let team = id(&app
        .create(
            "/api/v1/teams",
            json!({"name": "赣榆区分队", "organization_id": seed.ganyu}),
        )
        .await);
    let volunteer = id(&app
        .create(
            "/api/v1/volunteers",
            json!({"name": "李娜", "mobile": "14400005678", "organization_id": seed.ganyu, "tags": ["医院院长"]}),
        )
        .await);
    Others {
        hidden_activity,
        venue,
        team,
        volunteer,
    }
}

fn subscription(organization: i64, kind: &str, scope: i64) -> Value {
    json!({"organization_id": organization, "url": "https://hooks.example.cn/in", "format": "standard",
           "scope": {"kind": kind, "id": scope}})
}

db_test! {
    async fn an_organizer_subscribes_only_to_scopes_it_may_read_in_full_and_cannot_probe_hidden_ones(app: TestApp) {
        let seed = app.seed().await;
        let others = others(&app, &seed).await;
        let haizhou = app.organizer(seed.haizhou).await;
        assert_eq!(app.get_as(&haizhou, &format!("/api/v1/activities/{}", others.hidden_activity)).await.status, StatusCode::NOT_FOUND);
        let forbidden = [
            ("organization", seed.ganyu),
            ("organization", seed.city),
            ("program", seed.program),
            ("activity", others.hidden_activity),
            ("venue", others.venue),
            ("venue", seed.venue),
            ("team", others.team),
            ("volunteer", others.volunteer),
        ];
        for (kind, scope) in forbidden {
            let refused = app.post(&haizhou, "/api/v1/webhooks", subscription(seed.haizhou, kind, scope)).await;
            let body = occurrence_aside(refused.problem(StatusCode::NOT_FOUND, "not-found"));
            // An id that exists nowhere answers exactly the same (but for the request's own id).
            let unknown = app.post(&haizhou, "/api/v1/webhooks", subscription(seed.haizhou, kind, 999_999)).await;
            assert_eq!(occurrence_aside(unknown.problem(StatusCode::NOT_FOUND, "not-found")), body, "{kind} {scope}");
        }
        assert_eq!(app.count("webhooks").await, 0);
        // What it manages, it may subscribe to.
        for (kind, scope) in [("organization", seed.haizhou), ("activity", seed.activity)] {
            let reply = app.post(&haizhou, "/api/v1/webhooks", subscription(seed.haizhou, kind, scope)).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{kind}: {}", reply.body);
        }
        // Admins subscribe to anything that exists, and are told when it does not.
        let admin = app.post(&app.admin, "/api/v1/webhooks", subscription(seed.city, "activity", others.hidden_activity)).await;
        assert_eq!(admin.status, StatusCode::CREATED, "{}", admin.body);
        let missing = app.post(&app.admin, "/api/v1/webhooks", subscription(seed.city, "team", 999_999)).await;
        missing.problem(StatusCode::NOT_FOUND, "not-found");
    }
}

db_test! {
    async fn organizers_add_activities_only_to_programs_they_host_or_take_part_in_and_as_themselves(app: TestApp) {
        let seed = app.seed().await;
        // A society that the host does not expect a plan from, and 赣榆区科协's own program.
        let society = id(&app
            .create("/api/v1/organizations", json!({"parent_id": seed.city, "kind": "society", "name": "连云港市摄影学会"}))
            .await);
        let ganyu_program = id(&app
            .create("/api/v1/programs", json!({"name": "赣榆区科技活动周", "time_zone": "Asia/Shanghai", "host_organization_id": seed.ganyu}))
            .await);
        let activity = |program: i64, organization: i64| {
            json!({"program_id": program, "title": "科普讲座", "organization_id": organization})
        };
        let (haizhou, city, photographers) = (
            app.organizer(seed.haizhou).await,
            app.organizer(seed.city).await,
            app.organizer(society).await,
        );
        let before = app.count("activities").await;
        let refusals = [
            (&photographers, activity(seed.program, society), "takes part in"),
            (&haizhou, activity(ganyu_program, seed.haizhou), "takes part in"),
            (&haizhou, activity(seed.program, seed.ganyu), "as itself"),
            (&haizhou, activity(seed.program, seed.city), "as itself"),
            (&haizhou, activity(ganyu_program, seed.ganyu), "takes part in"),
        ];
        for (token, body, rule) in refusals {
            let reply = app.post(token, "/api/v1/activities", body.clone()).await;
            let detail = reply.problem(StatusCode::FORBIDDEN, "forbidden")["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains(rule), "{body}: {detail}");
        }
        assert_eq!(app.count("activities").await, before);
        // A participant as itself; the host for an organization below it.
        let own = app.post(&haizhou, "/api/v1/activities", activity(seed.program, seed.haizhou)).await;
        assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
        let given = app.post(&city, "/api/v1/activities", activity(seed.program, seed.ganyu)).await;
        assert_eq!(given.status, StatusCode::CREATED, "{}", given.body);
        // 市科协 manages 赣榆区科协, and so the programs it hosts.
        let above = app.post(&city, "/api/v1/activities", activity(ganyu_program, seed.city)).await;
        assert_eq!(above.status, StatusCode::CREATED, "{}", above.body);
        // Once the host expects its plan, the society takes part too.
        app.patch_current(&format!("/api/v1/organizations/{society}"), json!({"plan_expected": true})).await;
        let society_activity = app.post(&photographers, "/api/v1/activities", activity(seed.program, society)).await;
        assert_eq!(society_activity.status, StatusCode::CREATED, "{}", society_activity.body);
        // Handing an activity to another organization follows the same rule.
        let path = format!("/api/v1/activities/{}", id(&own.body));
        let moved = app.patch(&haizhou, &path, "*", json!({"organization_id": seed.ganyu})).await;
        moved.problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

db_test! {
    async fn sessions_go_to_own_ownerless_or_shared_venues_only(app: TestApp) {
        let seed = app.seed().await;
        let others = others(&app, &seed).await;
        let haizhou = app.organizer(seed.haizhou).await;
        let own_venue = id(&app
            .create("/api/v1/venues", json!({"name": "海州区党群服务中心", "kind": "party_masses_service_center", "time_zone": "Asia/Shanghai", "organization_id": seed.haizhou}))
            .await);
        let nobodys = id(&app
            .create("/api/v1/venues", json!({"name": "苍梧绿园", "kind": "other", "time_zone": "Asia/Shanghai"}))
            .await);
        let session = |venue: i64| {
            json!({"activity_id": seed.activity, "venue_id": venue,
                   "starts_at": "2019-05-30T09:00:00+08:00", "ends_at": "2019-05-30T11:00:00+08:00"})
        };
        for venue in [seed.venue, others.venue] {
            let reply = app.post(&haizhou, "/api/v1/sessions", session(venue)).await;
            let detail = reply.problem(StatusCode::FORBIDDEN, "forbidden")["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains("marked shared"), "{detail}");
        }
        assert_eq!(app.count("sessions").await, 0);
        for venue in [own_venue, nobodys] {
            let reply = app.post(&haizhou, "/api/v1/sessions", session(venue)).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        }
        // 市科协 shares its science museum: county associations may use it from then on.
        let shared = app.patch_current(&format!("/api/v1/venues/{}", seed.venue), json!({"shared": true})).await;
        assert_eq!(shared.body["shared"], true);
        let at_museum = app.post(&haizhou, "/api/v1/sessions", session(seed.venue)).await;
        assert_eq!(at_museum.status, StatusCode::CREATED, "{}", at_museum.body);
        // Moving a session to another organization's venue is refused like creating one there.
        let path = format!("/api/v1/sessions/{}", id(&at_museum.body));
        let moved = app.patch(&haizhou, &path, "*", json!({"venue_id": others.venue})).await;
        moved.problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(app.get(&path).await.body["venue_id"], seed.venue);
    }
}

db_test! {
    async fn the_volunteer_roster_is_for_those_who_manage_the_volunteers(app: TestApp) {
        let seed = app.seed().await;
        let others = others(&app, &seed).await;
        let own = id(&app
            .create("/api/v1/volunteers", json!({"name": "王芳", "mobile": "14400001234", "organization_id": seed.haizhou}))
            .await);
        let stranger = id(&app
            .create("/api/v1/volunteers", json!({"name": "赵强", "mobile": "14400009999", "organization_id": seed.ganyu}))
            .await);
        // 赣榆's 李娜 serves at one of 海州's sessions.
        let venue = id(&app
            .create("/api/v1/venues", json!({"name": "苍梧绿园", "kind": "other", "time_zone": "Asia/Shanghai"}))
            .await);
        let session = id(&app.session(seed.activity, venue, "2019-05-30T09:00:00+08:00", "2019-05-30T11:00:00+08:00").await);
        let role = id(&app.create("/api/v1/session-roles", json!({"session_id": session, "name": "讲解员", "needed": 2})).await);
        app.create("/api/v1/assignments", json!({"role_id": role, "volunteer_id": others.volunteer})).await;

        for path in ["/api/v1/volunteers".to_owned(), format!("/api/v1/volunteers/{own}"), format!("/api/v1/volunteers?team_id={}", others.team)] {
            app.get(&path).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        }
        let haizhou = app.organizer(seed.haizhou).await;
        let listed = app.get_as(&haizhou, "/api/v1/volunteers").await;
        assert_eq!(listed.ids(), vec![others.volunteer, own]);
        let assigned = &listed.body["data"][0];
        assert_eq!(assigned["mobile"], "144****5678", "another organization's volunteer shows masked");
        assert_eq!(app.get_as(&haizhou, &format!("/api/v1/volunteers/{stranger}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get_as(&haizhou, &format!("/api/v1/volunteers/{own}")).await.body["mobile"], "14400001234");

        let herself = app.volunteer_token(own).await;
        assert_eq!(app.get_as(&herself, "/api/v1/volunteers").await.ids(), vec![own]);
        assert_eq!(app.get_as(&herself, &format!("/api/v1/volunteers/{stranger}")).await.status, StatusCode::NOT_FOUND);

        // Who leads a team is shown to those who manage the team's organization only.
        let team = id(&app.create("/api/v1/teams", json!({"name": "海州区分队", "organization_id": seed.haizhou})).await);
        app.patch_current(&format!("/api/v1/volunteers/{own}"), json!({"teams": [{"team_id": team, "leader": true}]})).await;
        let team_path = format!("/api/v1/teams/{team}");
        assert!(app.get(&team_path).await.body.get("leader_ids").is_none());
        let ganyu = app.organizer(seed.ganyu).await;
        assert!(app.get_as(&ganyu, &team_path).await.body.get("leader_ids").is_none());
        assert_eq!(app.get_as(&haizhou, &team_path).await.body["leader_ids"], json!([own]));
        assert!(app.get("/api/v1/teams").await.body["data"].as_array().unwrap().iter().all(|t| t.get("leader_ids").is_none()));
    }
}

db_test! {
    async fn a_request_that_needs_a_token_is_refused_before_its_body_or_query_is_judged(app: TestApp) {
        let seed = app.seed().await;
        let programs = app.count("programs").await;
        for body in [json!({"name": "x"}), json!({"name": "x", "time_zone": "Asia/Shanghai"}), json!("not an object")] {
            let reply = crate::helpers::Reply::from_response(
                app.request(Method::POST, "/api/v1/programs").json(&body).send().await.unwrap(),
            )
            .await;
            reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            assert_eq!(reply.header("www-authenticate").as_deref(), Some("Bearer realm=\"sciday\""));
            assert_eq!(reply.header("connection").as_deref(), Some("close"), "the unread body ends the connection");
        }
        let not_json = app.request(Method::POST, "/api/v1/venues").body("<xml/>").send().await.unwrap();
        assert_eq!(not_json.status(), StatusCode::UNAUTHORIZED);
        for path in ["/api/v1/assignments?limit=abc", "/api/v1/service-hours?by=nobody", "/api/v1/webhooks/1/deliveries?cursor=%%"] {
            let reply = app.get(path).await;
            reply.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        }
        let patch = app.request(Method::PATCH, &format!("/api/v1/programs/{}", seed.program)).json(&json!({"name": ""})).send().await.unwrap();
        assert_eq!(patch.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.count("programs").await, programs);
        // A body that was read does not end the connection.
        let created = app.post(&app.admin, "/api/v1/programs", json!({"name": "x", "time_zone": "Asia/Shanghai", "host_organization_id": seed.city})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.header("connection"), None);
    }
}

/// A problem without its `instance`, which names the request and so differs every time.
fn occurrence_aside(problem: &serde_json::Value) -> serde_json::Value {
    let mut problem = problem.clone();
    let instance = problem.as_object_mut().and_then(|p| p.remove("instance"));
    assert!(
        instance.is_some_and(|i| i.is_string()),
        "every problem names its request"
    );
    problem
}
