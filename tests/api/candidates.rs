//! Candidates for a session role: ranked by fit and fairness, and eligible exactly when
//! assigning them now would be accepted, so the list and `POST /assignments` never disagree.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{TestApp, id};
use crate::staffing::{assign, role_at, rule_names, rules, staff, volunteer};

/// The candidate list of `role`, the ineligible included.
async fn everyone(app: &TestApp, role: i64) -> Vec<Value> {
    let reply = app
        .get_as(
            &app.admin,
            &format!("/api/v1/session-roles/{role}/candidates?include_ineligible=true"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["data"].as_array().unwrap().clone()
}

fn candidate(list: &[Value], volunteer: i64) -> Value {
    list.iter()
        .find(|c| c["volunteer_id"] == volunteer)
        .unwrap_or_else(|| panic!("{volunteer} is not a candidate: {list:?}"))
        .clone()
}

fn broken(candidate: &Value) -> Vec<String> {
    rule_names(&candidate["violations"])
}

db_test! {
    async fn candidates_are_ranked_by_fit_then_by_fewest_hours_in_the_program(app: TestApp) {
        let s = staff(&app).await;
        let role = role_at(&app, &s, s.hall, "2019-05-29T09:00+08:00", "2019-05-29T11:00+08:00", json!({"team_id": s.team})).await;
        let busy_bee = volunteer(&app, &s.seed, "忙人", json!([{"team_id": s.team}])).await;
        let fresh = volunteer(&app, &s.seed, "新人", json!([{"team_id": s.team}])).await;
        let outsider = volunteer(&app, &s.seed, "外人", json!([])).await;
        // The busy bee already has four hours in the program; the volunteer from the fixture two.
        let long = role_at(&app, &s, s.seed.venue, "2019-05-27T08:00+08:00", "2019-05-27T12:00+08:00", json!({})).await;
        assign(&app, long, busy_bee).await;
        assign(&app, s.role, s.volunteer).await;
        let reply = app.get_as(&app.admin, &format!("/api/v1/session-roles/{role}/candidates")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let order: Vec<i64> = reply.body["data"].as_array().unwrap().iter().map(|c| c["volunteer_id"].as_i64().unwrap()).collect();
        assert_eq!(order, [fresh, s.volunteer, busy_bee]);
        assert_eq!(reply.body["data"][2]["hours_in_program"], 4.0);
        assert!(reply.body["data"][0]["reasons"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("科普大篷车志愿者服务团")));
        let all = everyone(&app, role).await;
        assert!(all.iter().all(|c| c["volunteer_id"] != outsider), "outside the team's pool");
        let clash = role_at(&app, &s, s.seed.venue, "2019-05-28T10:00+08:00", "2019-05-28T11:00+08:00", json!({})).await;
        let last = everyone(&app, clash).await.last().unwrap().clone();
        assert_eq!(last["volunteer_id"], s.volunteer);
        assert_eq!(last["eligible"], false);
        assert_eq!(last["violations"][0]["rule"], "overlap");
    }
}

db_test! {
    async fn an_eligible_candidate_is_given_a_reason_for_every_rule(app: TestApp) {
        let s = staff(&app).await;
        let reply = app.get_as(&app.admin, &format!("/api/v1/session-roles/{}/candidates", s.role)).await;
        let first = &reply.body["data"][0];
        assert_eq!(first["eligible"], true, "{}", reply.body);
        let reasons: Vec<&str> = first["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        // Seven rules, then the hours already assigned.
        assert_eq!(reasons.len(), 8, "{reasons:?}");
        assert!(reasons.contains(&"a seat is free: 0 of 2 taken"), "{reasons:?}");
        assert!(reasons.contains(&"the session has not ended"), "{reasons:?}");
        assert!(reasons.contains(&"no team required"), "{reasons:?}");
    }
}

db_test! {
    async fn a_full_role_has_no_eligible_candidate_and_each_is_refused_as_the_list_says(app: TestApp) {
        let s = staff(&app).await;
        let second = volunteer(&app, &s.seed, "李娜", json!([])).await;
        let third = volunteer(&app, &s.seed, "王芳", json!([])).await;
        assert_eq!(assign(&app, s.role, s.volunteer).await.status, StatusCode::CREATED);
        assert_eq!(assign(&app, s.role, second).await.status, StatusCode::CREATED);
        let listed = app.get_as(&app.admin, &format!("/api/v1/session-roles/{}/candidates", s.role)).await;
        assert_eq!(listed.body["filled"], 2);
        assert_eq!(listed.body["data"], json!([]), "nobody can take a seat in a full role");
        let all = everyone(&app, s.role).await;
        assert!(all.iter().all(|c| c["eligible"] == false), "{all:?}");
        let waiting = candidate(&all, third);
        assert_eq!(broken(&waiting), ["capacity"]);
        assert_eq!(rules(&assign(&app, s.role, third).await), broken(&waiting));
        let seated = candidate(&all, second);
        assert_eq!(broken(&seated), ["capacity", "overlap"], "already in this very session");
        assert_eq!(rules(&assign(&app, s.role, second).await), broken(&seated));
    }
}

db_test! {
    async fn nobody_is_eligible_for_a_session_that_is_over(app: TestApp) {
        let s = staff(&app).await;
        app.clock.set("2019-05-28T03:00:00Z".parse().unwrap()); // 11:00 local: it just ended
        let listed = app.get_as(&app.admin, &format!("/api/v1/session-roles/{}/candidates", s.role)).await;
        assert_eq!(listed.body["data"], json!([]), "{}", listed.body);
        let zhang = candidate(&everyone(&app, s.role).await, s.volunteer);
        assert_eq!(zhang["eligible"], false);
        assert_eq!(broken(&zhang), ["session_ended"]);
        assert_eq!(rules(&assign(&app, s.role, s.volunteer).await), broken(&zhang));
    }
}

db_test! {
    async fn nobody_is_eligible_for_a_cancelled_session(app: TestApp) {
        let s = staff(&app).await;
        let cancelled = app.patch_current(&format!("/api/v1/sessions/{}", s.morning), json!({"status": "cancelled"})).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
        let zhang = candidate(&everyone(&app, s.role).await, s.volunteer);
        assert_eq!(broken(&zhang), ["session_cancelled"]);
        assert_eq!(rules(&assign(&app, s.role, s.volunteer).await), broken(&zhang));
    }
}

db_test! {
    async fn an_organizer_is_offered_only_the_volunteers_it_may_assign(app: TestApp) {
        let s = staff(&app).await;
        let team_role = role_at(&app, &s, s.hall, "2019-05-29T09:00+08:00", "2019-05-29T11:00+08:00", json!({"team_id": s.team})).await;
        // The city's team has members from two districts.
        let from_ganyu = id(&app
            .create("/api/v1/volunteers", json!({"name": "赵强", "organization_id": s.seed.ganyu, "teams": [{"team_id": s.team}]}))
            .await);
        let ids = |list: &[Value]| -> Vec<i64> { list.iter().map(|c| c["volunteer_id"].as_i64().unwrap()).collect() };
        assert_eq!(ids(&everyone(&app, team_role).await), [s.volunteer, from_ganyu], "admins may assign anyone");
        let haizhou = app.organizer(s.seed.haizhou).await;
        let offered = app.get_as(&haizhou, &format!("/api/v1/session-roles/{team_role}/candidates?include_ineligible=true")).await;
        assert_eq!(ids(offered.body["data"].as_array().unwrap()), [s.volunteer]);
        app.post(&haizhou, "/api/v1/assignments", json!({"role_id": team_role, "volunteer_id": from_ganyu}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
}
