//! Session roles and assignments: every rule, refused and allowed; overrides; what session
//! moves and cancellations do to staffing; batches and self-service.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Reply, Seed, TestApp, id, join_all};

/// A team, a second venue, a morning session with a role, and a volunteer in the team.
pub(crate) struct Staff {
    pub seed: Seed,
    pub team: i64,
    pub hall: i64,
    pub morning: i64,
    pub role: i64,
    pub volunteer: i64,
}

/// 28 May, 09:00–11:00 at the seed venue: a role needing two, and 张伟 of 海州区 in a team of
/// the city's.
pub(crate) async fn staff(app: &TestApp) -> Staff {
    let seed = app.seed().await;
    let team = id(&app
        .create(
            "/api/v1/teams",
            json!({"organization_id": seed.city, "name": "科普大篷车志愿者服务团"}),
        )
        .await);
    let hall = id(&app
        .create(
            "/api/v1/venues",
            json!({"name": "连云港市文化馆", "kind": "other", "time_zone": "Asia/Shanghai"}),
        )
        .await);
    let morning = id(&app
        .session(
            seed.activity,
            seed.venue,
            "2019-05-28T09:00+08:00",
            "2019-05-28T11:00+08:00",
        )
        .await);
    let role = id(&app
        .create(
            "/api/v1/session-roles",
            json!({"session_id": morning, "name": "讲解员", "needed": 2}),
        )
        .await);
    let volunteer = volunteer(app, &seed, "张伟", json!([{"team_id": team}])).await;
    Staff {
        seed,
        team,
        hall,
        morning,
        role,
        volunteer,
    }
}

/// A volunteer of 海州区 in `teams`.
pub(crate) async fn volunteer(app: &TestApp, seed: &Seed, name: &str, teams: Value) -> i64 {
    id(&app
        .create(
            "/api/v1/volunteers",
            json!({"name": name, "organization_id": seed.haizhou, "teams": teams}),
        )
        .await)
}

/// The admin assigns `volunteer` to `role`.
pub(crate) async fn assign(app: &TestApp, role: i64, volunteer: i64) -> Reply {
    app.post(
        &app.admin,
        "/api/v1/assignments",
        json!({"role_id": role, "volunteer_id": volunteer}),
    )
    .await
}

/// A role needing five at a new session of the seed activity; `extra` adds to the role.
pub(crate) async fn role_at(app: &TestApp, staff: &Staff, venue: i64, starts: &str, ends: &str, extra: Value) -> i64 {
    let session = id(&app.session(staff.seed.activity, venue, starts, ends).await);
    let mut body = json!({"session_id": session, "name": "志愿者", "needed": 5});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    id(&app.create("/api/v1/session-roles", body).await)
}

/// The rules a refused assignment names.
pub(crate) fn rules(reply: &Reply) -> Vec<String> {
    reply.problem(StatusCode::CONFLICT, "assignment-refused");
    rule_names(&reply.body["violations"])
}

/// The `rule` of each of a list of violations.
pub(crate) fn rule_names(violations: &Value) -> Vec<String> {
    violations
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap().to_owned())
        .collect()
}

db_test! {
    async fn an_assignment_records_the_volunteer_and_fills_a_seat(app: TestApp) {
        let s = staff(&app).await;
        let reply = assign(&app, s.role, s.volunteer).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(reply.body["status"], "proposed");
        assert_eq!(reply.body["session_id"], s.morning);
        assert_eq!(reply.body["volunteer"]["name"], "张伟");
        let role = app.get(&format!("/api/v1/session-roles/{}", s.role)).await;
        assert_eq!(role.body["filled"], 1);
        assert_eq!(role.body["needed"], 2);
    }
}

db_test! {
    async fn a_volunteer_cannot_be_in_two_overlapping_sessions(app: TestApp) {
        let s = staff(&app).await;
        assert_eq!(assign(&app, s.role, s.volunteer).await.status, StatusCode::CREATED);
        let twice = assign(&app, s.role, s.volunteer).await;
        assert_eq!(rules(&twice), ["overlap"]);
        let clash = role_at(&app, &s, s.seed.venue, "2019-05-28T10:00+08:00", "2019-05-28T12:00+08:00", json!({})).await;
        let refused = assign(&app, clash, s.volunteer).await;
        assert_eq!(rules(&refused), ["overlap"]);
        let first = app.get_as(&app.admin, &format!("/api/v1/assignments?volunteer_id={}", s.volunteer)).await;
        assert_eq!(refused.body["violations"][0]["assignment_id"], first.ids()[0], "names the assignment in the way");
        assert_eq!(refused.body["violations"][0]["session_id"], s.morning);
    }
}

db_test! {
    async fn travel_time_is_needed_between_different_venues_but_not_within_one(app: TestApp) {
        let s = staff(&app).await;
        assert_eq!(assign(&app, s.role, s.volunteer).await.status, StatusCode::CREATED);
        let next_door = role_at(&app, &s, s.seed.venue, "2019-05-28T11:00+08:00", "2019-05-28T12:00+08:00", json!({})).await;
        assert_eq!(assign(&app, next_door, s.volunteer).await.status, StatusCode::CREATED, "same venue, back to back");
        let across = role_at(&app, &s, s.hall, "2019-05-28T12:20+08:00", "2019-05-28T13:00+08:00", json!({})).await;
        assert_eq!(rules(&assign(&app, across, s.volunteer).await), ["overlap"], "20 minutes to cross town");
        let later = role_at(&app, &s, s.hall, "2019-05-28T12:30+08:00", "2019-05-28T13:30+08:00", json!({})).await;
        assert_eq!(assign(&app, later, s.volunteer).await.status, StatusCode::CREATED, "30 minutes is enough");
    }
}

db_test! {
    async fn a_role_never_holds_more_than_it_needs_and_declining_frees_the_seat(app: TestApp) {
        let s = staff(&app).await;
        let others: Vec<i64> = {
            let mut v = Vec::new();
            for name in ["甲", "乙"] {
                v.push(volunteer(&app, &s.seed, name, json!([])).await);
            }
            v
        };
        let first = assign(&app, s.role, s.volunteer).await;
        assert_eq!(assign(&app, s.role, others[0]).await.status, StatusCode::CREATED);
        let full = assign(&app, s.role, others[1]).await;
        assert_eq!(rules(&full), ["capacity"]);
        let declined = app
            .post(&app.admin, &format!("/api/v1/assignments/{}/decline", id(&first.body)), json!({"reason": "临时出差"}))
            .await;
        assert_eq!(declined.body["status"], "declined", "{}", declined.body);
        assert_eq!(assign(&app, s.role, others[1]).await.status, StatusCode::CREATED);
        let history = app.get_as(&app.admin, &format!("/api/v1/assignments?role_id={}", s.role)).await;
        assert_eq!(history.ids().len(), 3, "the declined assignment is kept");
        let fewer = app.patch(&app.admin, &format!("/api/v1/session-roles/{}", s.role), "*", json!({"needed": 1})).await;
        assert_eq!(fewer.problem(StatusCode::CONFLICT, "conflict")["code"], "over_capacity");
    }
}

db_test! {
    async fn a_role_requiring_a_team_takes_its_members_and_its_sub_teams_members(app: TestApp) {
        let s = staff(&app).await;
        let sub = id(&app.create("/api/v1/teams", json!({"organization_id": s.seed.city, "parent_id": s.team, "name": "大篷车一分队"})).await);
        let role = role_at(&app, &s, s.seed.venue, "2019-05-29T09:00+08:00", "2019-05-29T11:00+08:00", json!({"team_id": s.team})).await;
        let outsider = volunteer(&app, &s.seed, "外人", json!([])).await;
        let refused = assign(&app, role, outsider).await;
        assert_eq!(rules(&refused), ["team"]);
        assert_eq!(refused.body["violations"][0]["team_id"], s.team);
        assert_eq!(assign(&app, role, s.volunteer).await.status, StatusCode::CREATED);
        let sub_member = volunteer(&app, &s.seed, "分队员", json!([{"team_id": sub}])).await;
        assert_eq!(assign(&app, role, sub_member).await.status, StatusCode::CREATED);
    }
}

db_test! {
    async fn a_required_qualification_must_be_held_and_valid_on_the_session_day(app: TestApp) {
        let s = staff(&app).await;
        let role = role_at(&app, &s, s.hall, "2019-05-29T08:00+08:00", "2019-05-29T11:00+08:00", json!({"name": "医生", "qualifications": ["执业医师"]})).await;
        let refused = assign(&app, role, s.volunteer).await;
        assert_eq!(rules(&refused), ["qualification"]);
        assert_eq!(refused.body["violations"][0]["qualification"], "执业医师");
        let expired = id(&app
            .create("/api/v1/volunteers", json!({"name": "老医生", "organization_id": s.seed.haizhou,
                "qualifications": [{"name": "执业医师", "valid_until": "2019-05-28"}]}))
            .await);
        assert_eq!(rules(&assign(&app, role, expired).await), ["qualification"]);
        let doctor = id(&app
            .create("/api/v1/volunteers", json!({"name": "李医生", "organization_id": s.seed.haizhou,
                "qualifications": [{"name": "执业医师", "valid_until": "2019-05-29"}]}))
            .await);
        assert_eq!(assign(&app, role, doctor).await.status, StatusCode::CREATED);
    }
}

db_test! {
    async fn an_unavailable_volunteer_is_refused_for_that_time_only(app: TestApp) {
        let s = staff(&app).await;
        let away = id(&app
            .create("/api/v1/volunteers", json!({"name": "请假者", "organization_id": s.seed.haizhou,
                "unavailable": [{"starts_at": "2019-05-28T08:00:00+08:00", "ends_at": "2019-05-28T10:00:00+08:00"}]}))
            .await);
        let refused = assign(&app, s.role, away).await;
        assert_eq!(rules(&refused), ["unavailable"]);
        assert!(refused.body["violations"][0]["unavailability_id"].is_i64());
        let afternoon = role_at(&app, &s, s.seed.venue, "2019-05-28T14:00+08:00", "2019-05-28T16:00+08:00", json!({})).await;
        assert_eq!(assign(&app, afternoon, away).await.status, StatusCode::CREATED);
    }
}

db_test! {
    async fn cancelled_and_finished_sessions_take_no_one(app: TestApp) {
        let s = staff(&app).await;
        let cancelled = role_at(&app, &s, s.seed.venue, "2019-05-29T09:00+08:00", "2019-05-29T10:00+08:00", json!({})).await;
        let session = app.get(&format!("/api/v1/session-roles/{cancelled}")).await.body["session_id"].as_i64().unwrap();
        app.patch_current(&format!("/api/v1/sessions/{session}"), json!({"status": "cancelled"})).await;
        assert_eq!(rules(&assign(&app, cancelled, s.volunteer).await), ["session_cancelled"]);
        app.clock.set("2019-05-28T12:00:00Z".parse().unwrap());
        assert_eq!(rules(&assign(&app, s.role, s.volunteer).await), ["session_ended"]);
    }
}

db_test! {
    async fn a_refusal_lists_every_broken_rule_and_writes_nothing(app: TestApp) {
        let s = staff(&app).await;
        let role = role_at(&app, &s, s.seed.venue, "2019-05-29T09:00+08:00", "2019-05-29T11:00+08:00",
            json!({"needed": 1, "team_id": s.team, "qualifications": ["执业医师"]})).await;
        let stranger = id(&app
            .create("/api/v1/volunteers", json!({"name": "陌生人", "organization_id": s.seed.haizhou,
                "unavailable": [{"starts_at": "2019-05-29T10:00:00+08:00", "ends_at": "2019-05-29T12:00:00+08:00"}]}))
            .await);
        let before = app.count("assignments").await;
        let busy = role_at(&app, &s, s.seed.venue, "2019-05-29T08:00+08:00", "2019-05-29T09:30+08:00", json!({})).await;
        assert_eq!(assign(&app, busy, stranger).await.status, StatusCode::CREATED);
        let filler = volunteer(&app, &s.seed, "占位", json!([{"team_id": s.team}])).await;
        app.post(&app.admin, "/api/v1/assignments", json!({
            "role_id": role, "volunteer_id": filler,
            "override": {"rules": ["qualification"], "reason": "医生证书在补办"}
        })).await;
        let refused = assign(&app, role, stranger).await;
        let mut broken = rules(&refused);
        broken.sort();
        assert_eq!(broken, ["capacity", "overlap", "qualification", "team", "unavailable"]);
        assert_eq!(app.count("assignments").await, before + 2);
    }
}

db_test! {
    async fn an_admin_may_set_aside_overlap_team_qualification_and_unavailability_with_a_reason(app: TestApp) {
        let s = staff(&app).await;
        let role = role_at(&app, &s, s.hall, "2019-05-28T09:30+08:00", "2019-05-28T10:30+08:00",
            json!({"qualifications": ["执业医师"], "team_id": s.team})).await;
        assert_eq!(assign(&app, s.role, s.volunteer).await.status, StatusCode::CREATED);
        let body = json!({"role_id": role, "volunteer_id": s.volunteer,
            "override": {"rules": ["overlap", "qualification"], "reason": "主任医师临时顶岗，已电话确认"}});
        let organizer = app.organizer(s.seed.city).await;
        let not_admin = app.post(&organizer, "/api/v1/assignments", body.clone()).await;
        assert_eq!(not_admin.invalid_fields(), ["override"]);
        let reply = app.post(&app.admin, "/api/v1/assignments", body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(reply.body["overridden_rules"], json!(["overlap", "qualification"]));
        assert_eq!(reply.body["override_reason"], "主任医师临时顶岗，已电话确认");
        let capacity = app
            .post(&app.admin, "/api/v1/assignments", json!({"role_id": role, "volunteer_id": s.volunteer,
                "override": {"rules": ["capacity"], "reason": "x"}}))
            .await;
        assert_eq!(capacity.body["errors"][0]["code"], "not_overridable");
        let partly = app
            .post(&app.admin, "/api/v1/assignments", json!({"role_id": s.role, "volunteer_id": volunteer(&app, &s.seed, "新人", json!([])).await,
                "override": {"rules": ["team"], "reason": "无需"}}))
            .await;
        assert_eq!(partly.body["overridden_rules"], json!([]), "only rules that were broken are recorded");
    }
}

db_test! {
    async fn a_moved_session_flags_the_assignments_it_now_collides_with(app: TestApp) {
        let s = staff(&app).await;
        let afternoon = role_at(&app, &s, s.seed.venue, "2019-05-28T14:00+08:00", "2019-05-28T16:00+08:00", json!({})).await;
        let morning_assignment = id(&assign(&app, s.role, s.volunteer).await.body);
        let afternoon_assignment = id(&assign(&app, afternoon, s.volunteer).await.body);
        let path = format!("/api/v1/sessions/{}", s.morning);
        let moved = app.patch(&app.admin, &path, "*", json!({"starts_at": "2019-05-28T15:00+08:00"})).await;
        assert_eq!(moved.status, StatusCode::OK, "the move happens: {}", moved.body);
        let mut flagged: Vec<i64> = moved.body["flagged_assignments"].as_array().unwrap().iter().map(id).collect();
        flagged.sort();
        assert_eq!(flagged, [morning_assignment, afternoon_assignment]);
        let listed = app.get_as(&app.admin, "/api/v1/assignments?flagged=true").await;
        assert_eq!(listed.ids(), [morning_assignment, afternoon_assignment]);
        let conflict = &moved.body["flagged_assignments"][0]["conflicts"][0];
        assert_eq!(conflict["rule"], "overlap");
        let back = app.patch(&app.admin, &path, "*", json!({"starts_at": "2019-05-28T09:00+08:00"})).await;
        assert!(back.body["flagged_assignments"].as_array().unwrap().is_empty());
        assert!(app.get_as(&app.admin, "/api/v1/assignments?flagged=true").await.ids().is_empty(), "flags clear");
    }
}

db_test! {
    async fn moving_the_beijing_slot_flags_clashes_in_linked_sessions(app: TestApp) {
        let s = staff(&app).await;
        let beijing = id(&app.create("/api/v1/venues", json!({"name": "科技会堂", "kind": "remote_main_venue", "time_zone": "Asia/Shanghai"})).await);
        let slot = id(&app.session(s.seed.activity, beijing, "2019-05-30T09:00+08:00", "2019-05-30T11:00+08:00").await);
        let ceremony = id(&app
            .create("/api/v1/sessions", json!({"activity_id": s.seed.activity, "venue_id": s.seed.venue,
                "starts_at": "2019-05-30T09:00", "ends_at": "2019-05-30T11:00", "linked_session_id": slot}))
            .await);
        let flag_role = id(&app.create("/api/v1/session-roles", json!({"session_id": ceremony, "name": "旗手", "needed": 1})).await);
        let later = role_at(&app, &s, s.seed.venue, "2019-05-30T14:00+08:00", "2019-05-30T16:00+08:00", json!({})).await;
        assert_eq!(assign(&app, flag_role, s.volunteer).await.status, StatusCode::CREATED);
        assert_eq!(assign(&app, later, s.volunteer).await.status, StatusCode::CREATED);
        let moved = app
            .patch(&app.admin, &format!("/api/v1/sessions/{slot}"), "*", json!({"starts_at": "2019-05-30T14:30:00+08:00"}))
            .await;
        assert_eq!(moved.body["linked_sessions_updated"][0]["id"], ceremony);
        assert_eq!(moved.body["flagged_assignments"].as_array().unwrap().len(), 2);
    }
}

db_test! {
    async fn cancelling_a_session_cancels_its_assignments_and_keeps_them(app: TestApp) {
        let s = staff(&app).await;
        let assignment = id(&assign(&app, s.role, s.volunteer).await.body);
        let reply = app.patch_current(&format!("/api/v1/sessions/{}", s.morning), json!({"status": "cancelled"})).await;
        assert_eq!(reply.body["cancelled_assignments"][0]["id"], assignment);
        let kept = app.get_as(&app.admin, &format!("/api/v1/assignments/{assignment}")).await;
        assert_eq!(kept.body["status"], "cancelled");
        assert_eq!(kept.body["reason"], "the session was cancelled");
        assert_eq!(app.get(&format!("/api/v1/session-roles/{}", s.role)).await.body["filled"], 0);
    }
}

db_test! {
    async fn a_batch_answers_each_item_on_its_own(app: TestApp) {
        let s = staff(&app).await;
        let second = volunteer(&app, &s.seed, "二号", json!([])).await;
        let third = volunteer(&app, &s.seed, "三号", json!([])).await;
        let reply = app
            .post(&app.admin, "/api/v1/assignments/batch", json!({"items": [
                {"role_id": s.role, "volunteer_id": s.volunteer, "status": "confirmed"},
                {"role_id": s.role, "volunteer_id": 99999},
                {"role_id": s.role, "volunteer_id": second},
                {"role_id": s.role, "volunteer_id": third}
            ]}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let statuses: Vec<u64> = reply.body["results"].as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
        assert_eq!(statuses, [201, 422, 201, 409]);
        assert_eq!(reply.body["created"], 2);
        assert_eq!(reply.body["failed"], 2);
        assert_eq!(reply.body["results"][0]["assignment"]["status"], "confirmed");
        assert_eq!(reply.body["results"][3]["problem"]["violations"][0]["rule"], "capacity");
        let empty = app.post(&app.admin, "/api/v1/assignments/batch", json!({"items": []})).await;
        assert_eq!(empty.invalid_fields(), ["items"]);
    }
}

db_test! {
    async fn a_volunteer_token_sees_only_its_own_assignments_and_answers_them(app: TestApp) {
        let s = staff(&app).await;
        let other = volunteer(&app, &s.seed, "别人", json!([])).await;
        let mine = id(&assign(&app, s.role, s.volunteer).await.body);
        let theirs = id(&assign(&app, s.role, other).await.body);
        let token = app
            .create("/api/v1/tokens", json!({"name": "张伟", "role": "volunteer", "volunteer_id": s.volunteer}))
            .await["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(app.get_as(&token, "/api/v1/assignments").await.ids(), [mine]);
        app.get_as(&token, &format!("/api/v1/assignments/{theirs}")).await.problem(StatusCode::NOT_FOUND, "not-found");
        app.post(&token, &format!("/api/v1/assignments/{theirs}/confirm"), json!({})).await.problem(StatusCode::NOT_FOUND, "not-found");
        let confirmed = app.post(&token, &format!("/api/v1/assignments/{mine}/confirm"), json!({})).await;
        assert_eq!(confirmed.body["status"], "confirmed", "{}", confirmed.body);
        app.post(&token, &format!("/api/v1/assignments/{mine}/no-show"), json!({})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        app.post(&token, "/api/v1/assignments", json!({"role_id": s.role, "volunteer_id": s.volunteer}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let no_reason = app.post(&token, &format!("/api/v1/assignments/{mine}/decline"), json!({})).await;
        assert_eq!(no_reason.invalid_fields(), ["reason"]);
        let declined = app.post(&token, &format!("/api/v1/assignments/{mine}/decline"), json!({"reason": "家中有事请假"})).await;
        assert_eq!(declined.body["status"], "declined");
        assert_eq!(declined.body["reason"], "家中有事请假");
        let again = app.post(&token, &format!("/api/v1/assignments/{mine}/confirm"), json!({})).await;
        assert_eq!(again.problem(StatusCode::CONFLICT, "conflict")["code"], "invalid_transition");
    }
}

db_test! {
    async fn check_in_opens_an_hour_before_the_start_and_closes_at_the_end(app: TestApp) {
        let s = staff(&app).await;
        let assignment = id(&assign(&app, s.role, s.volunteer).await.body);
        let latecomer = id(&assign(&app, s.role, volunteer(&app, &s.seed, "迟到者", json!([])).await).await.body);
        let token = app
            .create("/api/v1/tokens", json!({"name": "张伟", "role": "volunteer", "volunteer_id": s.volunteer}))
            .await["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/api/v1/assignments/{assignment}/check-in");
        app.clock.set("2019-05-27T23:30:00Z".parse().unwrap()); // 07:30 local: the window opens at 08:00
        let early = app.post(&token, &path, json!({})).await;
        assert_eq!(early.problem(StatusCode::CONFLICT, "conflict")["code"], "outside_check_in_window");
        app.clock.set("2019-05-28T00:45:00Z".parse().unwrap()); // 08:45 local
        let on_time = app.post(&token, &path, json!({})).await;
        assert_eq!(on_time.body["status"], "checked_in", "{}", on_time.body);
        assert_eq!(on_time.body["checked_in_at"], "2019-05-28T08:45:00+08:00", "in the program's time zone");
        app.clock.set("2019-05-28T03:00:00Z".parse().unwrap()); // 11:00 local: over
        let late = app.post(&app.admin, &format!("/api/v1/assignments/{latecomer}/check-in"), json!({})).await;
        assert_eq!(late.problem(StatusCode::CONFLICT, "conflict")["code"], "outside_check_in_window");
    }
}

db_test! {
    async fn organizers_staff_only_their_sessions_with_their_volunteers(app: TestApp) {
        let s = staff(&app).await;
        let ganyu = app.organizer(s.seed.ganyu).await;
        let haizhou = app.organizer(s.seed.haizhou).await;
        app.post(&ganyu, "/api/v1/assignments", json!({"role_id": s.role, "volunteer_id": s.volunteer}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let ok = app.post(&haizhou, "/api/v1/assignments", json!({"role_id": s.role, "volunteer_id": s.volunteer})).await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
        assert!(app.get_as(&ganyu, "/api/v1/assignments").await.ids().is_empty());
        app.get("/api/v1/assignments").await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        app.post(&ganyu, &format!("/api/v1/assignments/{}/cancel", id(&ok.body)), json!({}))
            .await
            .problem(StatusCode::NOT_FOUND, "not-found");
        app.post(&ganyu, "/api/v1/session-roles", json!({"session_id": s.morning, "name": "x", "needed": 1}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

db_test! {
    async fn two_hundred_concurrent_requests_for_ten_seats_fill_exactly_ten(app: TestApp) {
        let s = staff(&app).await;
        let role = id(&app.create("/api/v1/session-roles", json!({"session_id": s.morning, "name": "引导员", "needed": 10})).await);
        let mut people = Vec::with_capacity(200);
        for i in 0..200 {
            people.push(volunteer(&app, &s.seed, &format!("志愿者{i:03}"), json!([])).await);
        }
        let requests = people.into_iter().map(|volunteer| {
            let request = app
                .request(reqwest::Method::POST, "/api/v1/assignments")
                .bearer_auth(&app.admin)
                .json(&json!({"role_id": role, "volunteer_id": volunteer}));
            async move { request.send().await.unwrap().status() }
        });
        let statuses = join_all(requests).await;
        let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        assert_eq!((created, refused), (10, 190), "{statuses:?}");
        assert_eq!(app.get(&format!("/api/v1/session-roles/{role}")).await.body["filled"], 10);
    }
}

db_test! {
    async fn one_volunteer_sent_concurrently_to_two_overlapping_sessions_gets_exactly_one(app: TestApp) {
        let s = staff(&app).await;
        for round in 0..10 {
            let person = volunteer(&app, &s.seed, &format!("抢{round}"), json!([])).await;
            let start = format!("2019-05-{:02}T09:00+08:00", 11 + round);
            let end = format!("2019-05-{:02}T11:00+08:00", 11 + round);
            let a = role_at(&app, &s, s.seed.venue, &start, &end, json!({})).await;
            let b = role_at(&app, &s, s.hall, &start, &end, json!({})).await;
            let send = |role: i64| {
                let request = app
                    .request(reqwest::Method::POST, "/api/v1/assignments")
                    .bearer_auth(&app.admin)
                    .json(&json!({"role_id": role, "volunteer_id": person}));
                async move { request.send().await.unwrap().status() }
            };
            let (first, second) = tokio::join!(send(a), send(b));
            let mut outcome = [first, second];
            outcome.sort();
            assert_eq!(outcome, [StatusCode::CREATED, StatusCode::CONFLICT], "round {round}");
        }
    }
}

db_test! {
    async fn moving_a_session_into_a_volunteers_unavailability_flags_the_assignment(app: TestApp) {
        let s = staff(&app).await;
        let away = id(&app
            .create("/api/v1/volunteers", json!({"name": "下午请假", "organization_id": s.seed.haizhou,
                "unavailable": [{"starts_at": "2019-05-28T13:00:00+08:00", "ends_at": "2019-05-28T18:00:00+08:00"}]}))
            .await);
        let assignment = id(&assign(&app, s.role, away).await.body);
        let moved = app
            .patch(&app.admin, &format!("/api/v1/sessions/{}", s.morning), "*", json!({"starts_at": "2019-05-28T14:00+08:00"}))
            .await;
        let flagged = &moved.body["flagged_assignments"];
        assert_eq!(flagged[0]["id"], assignment, "{}", moved.body);
        assert_eq!(flagged[0]["conflicts"][0]["rule"], "unavailable");
    }
}

db_test! {
    async fn service_hours_come_a_page_at_a_time_most_hours_first(app: TestApp) {
        let s = staff(&app).await;
        let mut people = Vec::new();
        for (i, (starts, ends)) in [("09:00", "11:00"), ("09:00", "12:00"), ("09:00", "10:00")].into_iter().enumerate() {
            let role = role_at(&app, &s, s.seed.venue, &format!("2019-05-2{}T{starts}+08:00", i + 1), &format!("2019-05-2{}T{ends}+08:00", i + 1), json!({"needed": 1})).await;
            let person = volunteer(&app, &s.seed, &format!("志愿者{i}"), json!([])).await;
            let assignment = id(&assign(&app, role, person).await.body);
            app.clock.set(format!("2019-05-2{}T01:30:00Z", i + 1).parse().unwrap());
            let done = app.post(&app.admin, &format!("/api/v1/assignments/{assignment}/check-in"), json!({})).await;
            assert_eq!(done.status, StatusCode::OK, "{}", done.body);
            people.push(person);
        }
        app.clock.set("2019-05-24T00:00:00Z".parse().unwrap()); // every session is over
        let mut seen = Vec::new();
        let mut hours = Vec::new();
        let mut path = "/api/v1/service-hours?limit=2".to_owned();
        loop {
            let page = app.get_as(&app.admin, &path).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            seen.extend(page.ids());
            hours.extend(page.body["data"].as_array().unwrap().iter().map(|r| r["hours"].as_f64().unwrap()));
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/service-hours?limit=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, [people[1], people[0], people[2]], "three, two, then one hour");
        assert_eq!(hours, [3.0, 2.0, 1.0]);
    }
}
