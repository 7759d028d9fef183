//! Where calendars and chat messages send people: the session's page, and a volunteer's own
//! page only to that volunteer. And two calendar details: a team that withdrew does not
//! cancel the session, and a time in a repeated hour abroad is written in UTC.

use reqwest::StatusCode;
use serde_json::json;

use super::crew;
use crate::db_test;
use crate::dispatch::{loopback, quick};
use crate::helpers::{TestApp, id};
use crate::receiver::Receiver;

db_test! {
    async fn every_calendar_event_links_to_its_sessions_page(app: TestApp) {
        let crew = crew(&app).await;
        let feed = app.feed(&format!("/feeds/programs/{}.ics", crew.seed.program), &[]).await;
        let calendar = feed.calendar();
        let event = calendar.events()[0];
        assert_eq!(event.get("URL"), Some(format!("{}/sessions/{}", app.address, crew.session).as_str()));
        let page = crate::pages::open(&app, &format!("/sessions/{}", crew.session)).await;
        assert_eq!(page.status, StatusCode::OK);
    }
}

db_test! {
    async fn chat_messages_link_to_the_session_page_and_only_a_volunteers_own_robot_to_their_page(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let crew = crew(&app).await;
        let [first, _] = crew.members;
        let own = json!({"organization_id": crew.seed.haizhou, "url": receiver.url("/standard/own"), "format": "standard",
                         "scope": {"kind": "volunteer", "id": first}, "events": ["session.cancelled"]});
        app.create("/api/v1/webhooks", own).await;
        let group = json!({"organization_id": crew.seed.haizhou, "url": receiver.url("/wecom/group"), "format": "wecom",
                           "scope": {"kind": "team", "id": crew.team}, "events": ["session.cancelled"]});
        app.create("/api/v1/webhooks", group).await;
        app.patch_current(&format!("/api/v1/sessions/{}", crew.session), json!({"status": "cancelled"})).await;
        quick(&app).dispatch_due().await.unwrap();

        let page = format!("https://sciday.example.cn/sessions/{}", crew.session);
        let chat = receiver.received("/wecom/group")[0].chat_text();
        assert!(chat.contains(&format!("详情：{page}")), "{chat}");
        assert!(!chat.contains("/v/"), "a group never sees a personal address: {chat}");
        let message = receiver.received("/standard/own")[0].json();
        assert_eq!(message["data"]["session"]["link"], page.as_str());
        let token = app.get_as(&app.admin, &format!("/api/v1/volunteers/{first}")).await.body["page_url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        assert_eq!(message["data"]["volunteer_page_url"], format!("https://sciday.example.cn/v/{token}").as_str());
    }
}

db_test! {
    async fn a_team_whose_only_assignee_declined_still_sees_the_session_go_ahead(app: TestApp) {
        let crew = crew(&app).await;
        for assignment in crew.assignments {
            let declined = app.post(&app.admin, &format!("/api/v1/assignments/{assignment}/decline"), json!({"reason": "临时出差"})).await;
            assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
        }
        let calendar = app.feed(&format!("/feeds/teams/{}.ics", crew.team), &[]).await.calendar();
        let event = calendar.events()[0];
        assert_eq!(event.get("STATUS"), Some("CONFIRMED"));
        let summary = event.text("SUMMARY").unwrap();
        assert!(!summary.contains("已取消"), "{summary}");
        let description = event.text("DESCRIPTION").unwrap();
        assert!(description.contains("本队已退出此场次"), "{description}");
    }
}

db_test! {
    async fn a_session_in_the_hour_a_clock_change_repeats_is_written_in_utc(app: TestApp) {
        let seed = app.seed().await;
        let new_york = id(&app
            .create("/api/v1/venues", json!({"name": "Columbia University", "kind": "school", "time_zone": "America/New_York"}))
            .await);
        // 3 November 2019: clocks in New York go back from 02:00 to 01:00, so 01:30 happens twice.
        let repeated = app
            .create("/api/v1/sessions", json!({"activity_id": seed.activity, "venue_id": new_york, "title": "海外学者连线",
                                               "starts_at": "2019-11-03T01:30:00-04:00", "ends_at": "2019-11-03T03:00:00-05:00"}))
            .await;
        let plain = app
            .create("/api/v1/sessions", json!({"activity_id": seed.activity, "venue_id": new_york, "title": "座谈",
                                               "starts_at": "2019-11-04T09:00:00-05:00", "ends_at": "2019-11-04T10:00:00-05:00"}))
            .await;
        let feed = app
            .feed(&format!("/feeds/venues/{new_york}.ics?from=2019-11-01&to=2019-11-10"), &[])
            .await;
        // ical-check reads it with every parser (CI).
        let backend = format!("{:?}", app.backend).to_lowercase();
        std::fs::write(crate::feeds::feed_dir().join(format!("{backend}-venue-repeated-hour.ics")), &feed.bytes).unwrap();
        let calendar = feed.calendar();
        let event = calendar.event(&uid(&app, id(&repeated)));
        assert_eq!(event.get("DTSTART"), Some("20191103T053000Z"));
        assert_eq!(event.get("DTEND"), Some("20191103T080000Z"));
        assert!(event.line("DTSTART").unwrap().params.iter().all(|(name, _)| name != "TZID"));
        let ordinary = calendar.event(&uid(&app, id(&plain)));
        assert_eq!(ordinary.get("DTSTART"), Some("20191104T090000"));
        assert!(ordinary.line("DTSTART").unwrap().params.iter().any(|(name, value)| name == "TZID" && value == "America/New_York"));
    }
}

fn uid(app: &TestApp, session: i64) -> String {
    let host = app
        .address
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    format!("session-{session}@{host}")
}
