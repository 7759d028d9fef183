//! Candidates for a session role: ranked by fit and fairness, and eligible exactly when
//! assigning them now would be accepted, so the list and `POST /assignments` never disagree.

use chrono::{DateTime, Utc};
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

/// Writes `count` volunteers of `organization` straight into the database, in id order, and
/// makes the first `unavailable` of them unavailable over `during`. Returns their ids.
async fn many_volunteers(
    app: &TestApp,
    organization: i64,
    count: usize,
    unavailable: usize,
    during: (&str, &str),
) -> Vec<i64> {
    use entity::{unavailability, volunteer};
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, Set};
    let now = app.policy().now;
    let txn = app.db.begin().await.unwrap();
    let rows = (0..count).map(|n| volunteer::ActiveModel {
        key: Set(format!("crowd.{n:04}")),
        name: Set(format!("志愿者{n}")),
        mobile: Set(None),
        email: Set(None),
        organization_id: Set(organization),
        tags: Set(json!([])),
        feed_token: Set(None),
        page_token: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    });
    sciday::store::insert_all(&txn, rows.collect()).await.unwrap();
    let ids: Vec<i64> = volunteer::Entity::find()
        .select_only()
        .column(volunteer::Column::Id)
        .filter(volunteer::Column::Key.starts_with("crowd."))
        .order_by_asc(volunteer::Column::Id)
        .into_tuple()
        .all(&txn)
        .await
        .unwrap();
    let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
    let away = ids[..unavailable]
        .iter()
        .map(|&volunteer_id| unavailability::ActiveModel {
            volunteer_id: Set(volunteer_id),
            starts_at: Set(at(during.0)),
            ends_at: Set(at(during.1)),
            reason: Set(Some("出差".to_owned())),
            ..Default::default()
        });
    sciday::store::insert_all(&txn, away.collect()).await.unwrap();
    txn.commit().await.unwrap();
    ids
}

db_test! {
    async fn the_first_page_is_the_fewest_hours_eligible_volunteers_however_far_down_the_pool_they_are(app: TestApp) {
        let s = staff(&app).await;
        // Six hundred more volunteers: the first 550 away during the morning session, so the
        // eligible ones sit behind several batches of the walk.
        let crowd = many_volunteers(&app, s.seed.haizhou, 600, 550, ("2019-05-28T00:00:00Z", "2019-05-28T04:00:00Z")).await;
        let (one_hour, four_hours, also_four) = (crowd[580], crowd[560], crowd[570]);
        let short = role_at(&app, &s, s.seed.venue, "2019-05-27T08:00+08:00", "2019-05-27T09:00+08:00", json!({})).await;
        let long = role_at(&app, &s, s.seed.venue, "2019-05-27T13:00+08:00", "2019-05-27T17:00+08:00", json!({})).await;
        assert_eq!(assign(&app, short, one_hour).await.status, StatusCode::CREATED);
        assert_eq!(assign(&app, long, also_four).await.status, StatusCode::CREATED);
        assert_eq!(assign(&app, long, four_hours).await.status, StatusCode::CREATED);
        let reply = app.get_as(&app.admin, &format!("/api/v1/session-roles/{}/candidates?limit=50", s.role)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let listed: Vec<i64> = reply.body["data"].as_array().unwrap().iter().map(|c| c["volunteer_id"].as_i64().unwrap()).collect();
        // Those without hours by id (张伟 first, from the fixture), then by hours and id.
        let mut expected = vec![s.volunteer];
        expected.extend(crowd[550..].iter().filter(|v| ![one_hour, four_hours, also_four].contains(v)));
        expected.extend([one_hour, four_hours]);
        assert_eq!(listed, expected);
        assert!(reply.body["data"].as_array().unwrap().iter().all(|c| c["eligible"] == true));
        assert_eq!(reply.body["data"][48]["hours_in_program"], 1.0);
        assert_eq!(reply.body["data"][49]["hours_in_program"], 4.0);
        // Asked for everyone, the away ones follow the eligible, in the same order.
        let all = app
            .get_as(&app.admin, &format!("/api/v1/session-roles/{}/candidates?limit=60&include_ineligible=true", s.role))
            .await;
        let data = all.body["data"].as_array().unwrap();
        assert_eq!(data.len(), 60);
        assert_eq!(data[50]["volunteer_id"], also_four);
        assert_eq!(data[51]["volunteer_id"], crowd[0]);
        assert_eq!(broken(&data[51]), ["unavailable"]);
    }
}

/// Each volunteer's hours in the program as kept for ranking, and as the assignments add up.
async fn kept_and_counted(app: &TestApp, program: i64) -> (Vec<(i64, f64)>, Vec<(i64, f64)>) {
    use sciday::store::{hours, program_hours};
    let kept = program_hours::of(app.db.reader(), program).await.unwrap();
    let everyone: Vec<i64> = app.get_as(&app.admin, "/api/v1/volunteers?limit=500").await.ids();
    let counted = hours::assigned_in_program(app.db.reader(), &everyone, program)
        .await
        .unwrap();
    let round = |h: f64| (h * 1e6).round() / 1e6;
    let kept = kept
        .into_iter()
        .map(|(v, seconds)| (v, round(seconds as f64 / 3600.0)))
        .collect();
    let mut counted: Vec<(i64, f64)> = counted
        .into_iter()
        .filter(|(_, h)| *h != 0.0)
        .map(|(v, h)| (v, round(h)))
        .collect();
    counted.sort_by_key(|(v, _)| *v);
    // The blocks count the volunteers with time in each block of ids.
    let mut busy = std::collections::BTreeMap::<i64, i64>::new();
    for (volunteer, _) in &counted {
        *busy.entry(volunteer / program_hours::BLOCK).or_default() += 1;
    }
    let blocks = sea_orm::ConnectionTrait::query_all_raw(
        app.db.reader(),
        sea_orm::Statement::from_string(
            app.db.backend(),
            format!(
                "SELECT block, busy FROM program_hour_blocks WHERE program_id = {program} AND busy <> 0 ORDER BY block"
            ),
        ),
    )
    .await
    .unwrap();
    let blocks: std::collections::BTreeMap<i64, i64> = blocks
        .iter()
        .map(|r| (r.try_get("", "block").unwrap(), r.try_get("", "busy").unwrap()))
        .collect();
    assert_eq!(blocks, busy);
    (kept, counted)
}

db_test! {
    async fn hours_kept_for_ranking_equal_the_assignments_after_every_kind_of_change(app: TestApp) {
        let s = staff(&app).await;
        let program = s.seed.program;
        let check = async |step: &str| {
            let (kept, counted) = kept_and_counted(&app, program).await;
            assert_eq!(kept, counted, "after {step}");
            kept
        };
        let li = volunteer(&app, &s.seed, "李娜", json!([])).await;
        let first = id(&assign(&app, s.role, s.volunteer).await.body);
        let afternoon = role_at(&app, &s, s.hall, "2019-05-28T14:00+08:00", "2019-05-28T15:30+08:00", json!({})).await;
        assign(&app, afternoon, s.volunteer).await;
        assign(&app, afternoon, li).await;
        assert_eq!(check("assigning").await, [(s.volunteer, 3.5), (li, 1.5)]);
        // A linked ceremony follows its Beijing slot; its volunteer's hours follow both.
        let beijing = id(&app.create("/api/v1/venues", json!({"name": "科技会堂", "kind": "remote_main_venue", "time_zone": "Asia/Shanghai"})).await);
        let slot = id(&app.session(s.seed.activity, beijing, "2019-05-30T09:00+08:00", "2019-05-30T11:00+08:00").await);
        let ceremony = id(&app
            .create("/api/v1/sessions", json!({"activity_id": s.seed.activity, "venue_id": s.seed.venue,
                "starts_at": "2019-05-30T09:00", "ends_at": "2019-05-30T11:00", "linked_session_id": slot}))
            .await);
        let flag = id(&app.create("/api/v1/session-roles", json!({"session_id": ceremony, "name": "旗手", "needed": 1})).await);
        assign(&app, flag, li).await;
        let moved = app
            .patch(&app.admin, &format!("/api/v1/sessions/{ceremony}"), "*", json!({"ends_at": "2019-05-30T12:00+08:00"}))
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        assert_eq!(check("lengthening a session").await, [(s.volunteer, 3.5), (li, 4.5)]);
        let shifted = app
            .patch(&app.admin, &format!("/api/v1/sessions/{slot}"), "*", json!({"starts_at": "2019-05-30T14:00+08:00"}))
            .await;
        assert_eq!(shifted.body["linked_sessions_updated"][0]["id"], ceremony);
        check("moving the slot a session follows").await;
        // An all-day session counts eight hours a day.
        let fair = id(&app
            .create("/api/v1/sessions", json!({"activity_id": s.seed.activity, "venue_id": s.hall, "all_day": true,
                "start_date": "2019-06-01", "end_date": "2019-06-02"}))
            .await);
        let stand = id(&app.create("/api/v1/session-roles", json!({"session_id": fair, "name": "展台", "needed": 3})).await);
        assign(&app, stand, li).await;
        assert_eq!(check("an all-day session").await, [(s.volunteer, 3.5), (li, 20.5)]);
        let cancelled = app.post(&app.admin, &format!("/api/v1/assignments/{first}/cancel"), json!({})).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
        assert_eq!(check("cancelling an assignment").await, [(s.volunteer, 1.5), (li, 20.5)]);
        app.patch_current(&format!("/api/v1/sessions/{fair}"), json!({"status": "cancelled"})).await;
        check("cancelling a session").await;
        let gone = app.delete(&app.admin, &format!("/api/v1/sessions/{ceremony}")).await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
        assert_eq!(check("deleting a session").await, [(s.volunteer, 1.5), (li, 1.5)]);
        // Computed afresh in the database (as after bulk writes), the figures are the same.
        let before = check("the changes").await;
        let txn = app.db.begin().await.unwrap();
        sciday::store::program_hours::rebuild(&txn, None).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(check("rebuilding").await, before);
    }
}
