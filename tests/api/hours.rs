//! Service hours: only service that has taken place counts, and an export carries what a
//! volunteer record (志愿服务记录) states, under a name that says what and when it covers.

use serde_json::json;

use crate::db_test;
use crate::helpers::{TestApp, id};
use crate::staffing::{Staff, assign, role_at, staff, volunteer};

/// Checks `assignment` in as the admin, the clock at `at`.
async fn check_in(app: &TestApp, assignment: i64, at: &str) {
    app.clock.set(at.parse().unwrap());
    let reply = app
        .post(
            &app.admin,
            &format!("/api/v1/assignments/{assignment}/check-in"),
            json!({}),
        )
        .await;
    assert_eq!(reply.body["status"], "checked_in", "{}", reply.body);
}

/// A CSV download: its `Content-Disposition` and its text after the byte-order mark.
async fn csv(app: &TestApp, path: &str) -> (String, String) {
    let response = app
        .request(reqwest::Method::GET, path)
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "a byte-order mark for Excel");
    (disposition, String::from_utf8(bytes[3..].to_vec()).unwrap())
}

/// 张伟 checked in at 09:00 to the 09:00–11:00 session of 28 May; another volunteer of the
/// team did not come. The clock stays at the check-in.
async fn served(app: &TestApp) -> Staff {
    let s = staff(app).await;
    let assignment = id(&assign(app, s.role, s.volunteer).await.body);
    let other = volunteer(app, &s.seed, "未到者", json!([{"team_id": s.team}])).await;
    let missed = id(&assign(app, s.role, other).await.body);
    check_in(app, assignment, "2019-05-28T01:00:00Z").await;
    app.post(&app.admin, &format!("/api/v1/assignments/{missed}/no-show"), json!({}))
        .await;
    s
}

db_test! {
    async fn a_check_in_counts_no_hours_until_the_session_is_over(app: TestApp) {
        let s = staff(&app).await;
        let afternoon = role_at(&app, &s, s.hall, "2019-05-29T12:00+08:00", "2019-05-29T18:00+08:00", json!({})).await;
        let assignment = id(&assign(&app, afternoon, s.volunteer).await.body);
        check_in(&app, assignment, "2019-05-29T04:32:00Z").await; // 12:32 local
        let running = app.get_as(&app.admin, "/api/v1/service-hours").await;
        assert_eq!(running.body["data"], json!([]), "nothing has been served yet: {}", running.body);
        app.clock.set("2019-05-29T09:59:00Z".parse().unwrap()); // 17:59
        assert_eq!(app.get_as(&app.admin, "/api/v1/service-hours").await.body["data"], json!([]));
        app.clock.set("2019-05-29T10:00:00Z".parse().unwrap()); // 18:00: over
        let over = app.get_as(&app.admin, "/api/v1/service-hours").await;
        assert_eq!(over.body["data"][0]["hours"], 6.0, "{}", over.body);
        assert_eq!(over.body["data"][0]["sessions"], 1);
    }
}

db_test! {
    async fn service_hours_add_up_checked_in_assignments_per_volunteer_and_team(app: TestApp) {
        let s = served(&app).await;
        app.clock.set("2019-06-01T02:00:00Z".parse().unwrap()); // 1 June, 10:00 local
        let hours = app.get_as(&app.admin, &format!("/api/v1/service-hours?program_id={}", s.seed.program)).await;
        assert_eq!(hours.ids(), [s.volunteer], "the no-show does not count");
        assert_eq!(hours.body["data"][0]["hours"], 2.0);
        assert_eq!(hours.body["data"][0]["sessions"], 1);
        let teams = app.get_as(&app.admin, "/api/v1/service-hours?by=team").await;
        assert_eq!(teams.body["data"][0]["id"], s.team);
        assert_eq!(teams.body["data"][0]["hours"], 2.0);
        assert_eq!(teams.body["data"][0]["volunteers"], 1);
        assert_eq!(teams.body["data"][0]["organization_id"], s.seed.city);
        assert_eq!(teams.body["data"][0]["organization_name"], "连云港市科学技术协会");
        // The session ran 28 May, 09:00–11:00 in Lianyungang: a window of days picks it or not.
        let within = app.get_as(&app.admin, "/api/v1/service-hours?from=2019-05-28&to=2019-05-29").await;
        assert_eq!(within.ids(), [s.volunteer]);
        assert_eq!(within.body["from"], "2019-05-28T00:00:00+08:00");
        assert_eq!(within.body["to"], "2019-05-29T00:00:00+08:00");
        let before = app.get_as(&app.admin, "/api/v1/service-hours?to=2019-05-28T09:00:00%2B08:00").await;
        assert!(before.ids().is_empty(), "{}", before.body);
        let after = app.get_as(&app.admin, &format!("/api/v1/service-hours?program_id={}&from=2019-05-29", s.seed.program)).await;
        assert!(after.ids().is_empty(), "{}", after.body);
        let backwards = app.get_as(&app.admin, "/api/v1/service-hours?from=2019-05-29&to=2019-05-28").await;
        assert_eq!(backwards.invalid_fields(), ["to"]);
        let outsider = app.organizer(s.seed.ganyu).await;
        let private = app.get_as(&outsider, "/api/v1/service-hours").await;
        assert_eq!(private.body["data"], json!([]), "others' volunteers stay private");
    }
}

db_test! {
    async fn a_volunteer_record_states_the_number_content_hours_and_issuing_organization_for_a_period(app: TestApp) {
        let s = staff(&app).await;
        // The volunteer number is the key the organization registered the volunteer under.
        let numbered = id(&app
            .create("/api/v1/volunteers", json!({"key": "LYG-KJZYZ-0001", "name": "李娜", "organization_id": s.seed.haizhou}))
            .await);
        let assignment = id(&assign(&app, s.role, numbered).await.body);
        check_in(&app, assignment, "2019-05-28T01:00:00Z").await;
        app.clock.set("2019-06-01T02:00:00Z".parse().unwrap()); // 1 June, 10:00 local
        let hours = app.get_as(&app.admin, &format!("/api/v1/service-hours?program_id={}", s.seed.program)).await;
        assert_eq!(
            hours.body,
            json!({
                "from": "2019-05-28T09:00:00+08:00",
                "to": "2019-06-01T10:00:00+08:00",
                "data": [{
                    "id": numbered,
                    "volunteer_number": "LYG-KJZYZ-0001",
                    "name": "李娜",
                    "organization_id": s.seed.haizhou,
                    "organization_name": "连云港市海州区科学技术协会",
                    "service_content": ["第三十一届科普宣传周（讲解员）"],
                    "sessions": 1,
                    "hours": 2.0,
                    "issued_by": [{"id": s.seed.city, "name": "连云港市科学技术协会"}]
                }]
            })
        );
        let (disposition, text) = csv(&app, &format!("/api/v1/service-hours?program_id={}&format=csv", s.seed.program)).await;
        let ascii = format!("attachment; filename=\"service-hours-program-{}-2019-05-28-to-2019-06-01.csv\"; filename*=UTF-8''", s.seed.program);
        assert!(disposition.starts_with(&ascii), "{disposition}");
        let name = percent_encoding::percent_decode_str(disposition.split("UTF-8''").nth(1).unwrap()).decode_utf8().unwrap();
        assert_eq!(name, "2019年全国科技工作者日系列活动_志愿服务时长_2019-05-28至2019-06-01.csv");
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("志愿者编号,姓名,所属组织编号,所属组织,服务内容,服务时间,服务场次,服务时长（小时）,出具组织")
        );
        assert_eq!(
            lines.next().map(str::to_owned),
            Some(format!(
                "LYG-KJZYZ-0001,李娜,{},连云港市海州区科学技术协会,第三十一届科普宣传周（讲解员）,2019-05-28至2019-06-01,1,2.00,连云港市科学技术协会",
                s.seed.haizhou
            ))
        );
        let (teams, _) = csv(&app, "/api/v1/service-hours?by=team&from=2019-05-01&to=2019-06-01&format=csv").await;
        assert!(teams.contains("filename=\"service-hours-teams-2019-05-01-to-2019-05-31.csv\""), "{teams}");
    }
}
