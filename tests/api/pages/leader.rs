//! A team leader's page: the day's roster, check-in by a tap or by the code on a volunteer's
//! page, and actions that count once however often a phone with poor signal sends them.

use chrono::{DateTime, Utc};
use regex::Regex;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Crew, crew, open, path_of, status, submit, volunteer};
use crate::db_test;
use crate::helpers::TestApp;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// The leader's page of the crew's team.
async fn leader_page(app: &TestApp, crew: &Crew) -> String {
    let leader = volunteer(app, crew.leader).await;
    let membership = leader["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["team_id"] == crew.team)
        .unwrap()
        .clone();
    path_of(
        app,
        membership["page_url"]
            .as_str()
            .expect("a leader's membership has its page"),
    )
}

/// POSTs an action as the page's script does: JSON with the form token in a header.
async fn send(app: &TestApp, page: &str, csrf: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .request(reqwest::Method::POST, &format!("{page}/actions"))
        .header("Origin", app.address.as_str())
        .header("X-CSRF-Token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

fn csrf_of(html: &str) -> String {
    Regex::new(r#"name="csrf" value="([0-9a-f]+)""#)
        .unwrap()
        .captures(html)
        .unwrap()[1]
        .to_owned()
}

db_test! {
    async fn a_leader_checks_members_in_once_however_often_the_phone_sends_it(app: TestApp) {
        let crew = crew(&app).await;
        let [first, second] = crew.assignments;
        let page = leader_page(&app, &crew).await;
        app.clock.set(at("2019-05-28T07:30:00+08:00"));
        let html = open(&app, &page).await;
        assert_eq!(html.status, StatusCode::OK);
        let text = html.text();
        assert!(text.contains("科普志愿者服务团") && text.contains("5月28日 星期二"), "{text}");
        assert!(text.contains("王志愿") && text.contains("138****2222") && text.contains("待确认"), "{text}");
        assert!(!html.html.contains("13800002222"), "mobiles are masked on the roster");
        let csrf = csrf_of(&html.html);

        // Too early: the API's window applies, and the refusal reads in plain Chinese.
        let (early, refused) = send(&app, &page, &csrf, json!({"key": "k-early-0001", "assignment": first.to_string(), "action": "check_in"})).await;
        assert_eq!(early, StatusCode::CONFLICT);
        assert!(refused["message"].as_str().unwrap().contains("签到时间为活动开始前一小时至活动结束"), "{refused}");

        app.clock.set(at("2019-05-28T08:45:00+08:00"));
        let tap = json!({"key": "k-tap-000001", "assignment": first.to_string(), "action": "check_in"});
        let (ok, answer) = send(&app, &page, &csrf, tap.clone()).await;
        assert_eq!(ok, StatusCode::OK, "{answer}");
        assert_eq!(answer["status"], "checked_in");
        assert_eq!(answer["replayed"], false);
        // The queue sends it again after a lost answer: the same answer, nothing done twice.
        let (again, replay) = send(&app, &page, &csrf, tap).await;
        assert_eq!(again, StatusCode::OK, "{replay}");
        assert_eq!(replay["replayed"], true);
        assert_eq!(status(&app, first).await, "checked_in");
        assert_eq!(app.count("page_actions").await, 1);
        let assignment = app.get_as(&app.admin, &format!("/api/v1/assignments/{first}")).await.body;
        assert_eq!(assignment["version"], 2, "one check-in, one change: {assignment}");
        // The audit trail says the leader did it, from their page.
        let trail = app.get_as(&app.admin, &format!("/api/v1/audit?object=assignment:{first}&action=check_in")).await.body;
        assert_eq!(trail["data"].as_array().unwrap().len(), 1, "{trail}");
        assert_eq!(trail["data"][0]["actor_role"], "page");
        assert_eq!(trail["data"][0]["volunteer_id"], crew.leader);
        assert_eq!(trail["data"][0]["changes"]["status"], json!({"old": "proposed", "new": "checked_in"}));

        // By the code on the volunteer's own page.
        let volunteer_page = path_of(&app, volunteer(&app, crew.members[1]).await["page_url"].as_str().unwrap());
        let shown = open(&app, &volunteer_page).await;
        let code = Regex::new(r#"<strong class="code">([0-9]+-[0-9]{6})</strong>"#).unwrap().captures(&shown.html)
            .expect("from an hour before, the volunteer's page shows a check-in code")[1].to_owned();
        assert!(code.starts_with(&format!("{second}-")));
        let wrong = format!("{second}-{:06}", (code[code.len() - 6..].parse::<u32>().unwrap() + 1) % 1_000_000);
        let (mismatch, said) = send(&app, &page, &csrf, json!({"key": "k-wrong-00001", "code": wrong})).await;
        assert_eq!(mismatch, StatusCode::CONFLICT);
        assert!(said["message"].as_str().unwrap().contains("签到码不对"), "{said}");
        assert_eq!(status(&app, second).await, "proposed");
        let form = submit(&app, &format!("{page}/actions"), &[("csrf", &csrf), ("key", "k-code-000001"), ("code", &code)]).await;
        assert_eq!(form.status, StatusCode::SEE_OTHER, "the form works without JavaScript: {}", form.html);
        assert_eq!(status(&app, second).await, "checked_in");
    }
}

db_test! {
    async fn a_leader_marks_no_show_only_after_the_start_and_only_for_their_team(app: TestApp) {
        let crew = crew(&app).await;
        let [first, _] = crew.assignments;
        let page = leader_page(&app, &crew).await;
        app.clock.set(at("2019-05-28T08:30:00+08:00"));
        let csrf = csrf_of(&open(&app, &page).await.html);
        let (early, said) = send(&app, &page, &csrf, json!({"key": "k-absent-0001", "assignment": first.to_string(), "action": "no_show"})).await;
        assert_eq!(early, StatusCode::CONFLICT);
        assert!(said["message"].as_str().unwrap().contains("活动开始后才能登记缺席"), "{said}");
        app.clock.set(at("2019-05-28T09:20:00+08:00"));
        let (late, said) = send(&app, &page, &csrf, json!({"key": "k-absent-0002", "assignment": first.to_string(), "action": "no_show"})).await;
        assert_eq!(late, StatusCode::OK, "{said}");
        assert_eq!(status(&app, first).await, "no_show");

        // Someone outside the team: as if there were no such assignment.
        let outsider = crate::helpers::id(&app
            .create("/api/v1/volunteers", json!({"name": "周路人", "organization_id": crew.seed.haizhou}))
            .await);
        let guide = crate::helpers::id(&app.create("/api/v1/session-roles", json!({"session_id": crew.session, "name": "引导员", "needed": 1})).await);
        let elsewhere = crate::helpers::id(&app.create("/api/v1/assignments", json!({"role_id": guide, "volunteer_id": outsider})).await);
        let (hidden, _) = send(&app, &page, &csrf, json!({"key": "k-outside-001", "assignment": elsewhere.to_string(), "action": "check_in"})).await;
        assert_eq!(hidden, StatusCode::NOT_FOUND);
        assert_eq!(status(&app, elsewhere).await, "proposed");

        // A member who does not lead the team has no leader's page; neither does a leader
        // once they no longer lead.
        let member_page = path_of(&app, volunteer(&app, crew.members[0]).await["page_url"].as_str().unwrap());
        assert_eq!(open(&app, &format!("{member_page}/teams/{}", crew.team)).await.status, StatusCode::NOT_FOUND);
        app.patch_current(&format!("/api/v1/volunteers/{}", crew.leader), json!({"teams": [{"team_id": crew.team, "leader": false}]})).await;
        assert_eq!(open(&app, &page).await.status, StatusCode::NOT_FOUND);
        assert!(volunteer(&app, crew.leader).await["teams"][0].get("page_url").is_none());
    }
}

db_test! {
    async fn concurrent_copies_of_one_action_count_once(app: TestApp) {
        let crew = crew(&app).await;
        let [first, _] = crew.assignments;
        let page = leader_page(&app, &crew).await;
        app.clock.set(at("2019-05-28T08:45:00+08:00"));
        let csrf = csrf_of(&open(&app, &page).await.html);
        let body = json!({"key": "k-burst-000001", "assignment": first.to_string(), "action": "check_in"});
        let sends = (0..6).map(|_| send(&app, &page, &csrf, body.clone()));
        let answers = futures_util::future::join_all(sends).await;
        for (status, answer) in &answers {
            assert_eq!(*status, StatusCode::OK, "{answer}");
            assert_eq!(answer["status"], "checked_in");
        }
        assert_eq!(answers.iter().filter(|(_, a)| a["replayed"] == false).count(), 1);
        assert_eq!(app.count("page_actions").await, 1);
    }
}
