//! A volunteer's own page: their assignments, 确认 and 请假 from a form, and a secret address
//! that reveals nothing of anyone else.

use reqwest::StatusCode;
use serde_json::json;

use super::{crew, open, path_of, status, submit, submit_from, volunteer};
use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn a_volunteer_confirms_and_takes_leave_from_their_page_and_the_seat_is_freed(app: TestApp) {
        let crew = crew(&app).await;
        let [first, _] = crew.members;
        let [assignment, _] = crew.assignments;
        let page_url = volunteer(&app, first).await["page_url"].as_str().unwrap().to_owned();
        let page_path = path_of(&app, &page_url);
        let page = open(&app, &page_path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(page.header("referrer-policy").as_deref(), Some("no-referrer"));
        let text = page.text();
        assert!(text.contains("王志愿，您好"), "{text}");
        for fact in ["5月28日 星期二 09:00–11:00", "连云港市科技馆", "讲解员", "科普志愿者服务团", "赵领队", "待确认"] {
            assert!(text.contains(fact), "the page shows {fact}: {text}");
        }
        assert!(!text.contains("李志愿") && !page.html.contains("13700003333"), "nothing about other volunteers");
        assert!(page.html.contains("/feeds/volunteers/"), "the personal calendar's subscribe box");

        let confirm = format!("{page_path}/assignments/{assignment}/confirm");
        let (csrf, key) = page.form(&confirm);
        let done = submit(&app, &confirm, &[("csrf", &csrf), ("key", &key)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
        assert_eq!(done.header("location").unwrap(), format!("{page_path}?done=confirm#a{assignment}"));
        assert_eq!(status(&app, assignment).await, "confirmed");
        let after = open(&app, &format!("{page_path}?done=confirm")).await.text();
        assert!(after.contains("已确认参加") && after.contains("已确认"), "{after}");

        let page = open(&app, &page_path).await;
        let decline = format!("{page_path}/assignments/{assignment}/decline");
        let (csrf, key) = page.form(&decline);
        let no_reason = submit(&app, &decline, &[("csrf", &csrf), ("key", &key), ("reason", "  ")]).await;
        assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(no_reason.text().contains("请填写请假原因"), "{}", no_reason.text());
        assert_eq!(status(&app, assignment).await, "confirmed", "a refused form changes nothing");
        let leave = submit(&app, &decline, &[("csrf", &csrf), ("key", &key), ("reason", "临时出差")]).await;
        assert_eq!(leave.status, StatusCode::SEE_OTHER, "{}", leave.html);
        let declined = app.get_as(&app.admin, &format!("/api/v1/assignments/{assignment}")).await.body;
        assert_eq!(declined["status"], "declined");
        assert_eq!(declined["reason"], "临时出差");
        // The seat is free: the role takes someone else.
        let other = id(&app
            .create("/api/v1/volunteers", json!({"name": "孙替补", "organization_id": crew.seed.haizhou, "teams": [{"team_id": crew.team}]}))
            .await);
        let replaced = app.post(&app.admin, "/api/v1/assignments", json!({"role_id": crew.role, "volunteer_id": other})).await;
        assert_eq!(replaced.status, StatusCode::CREATED, "{}", replaced.body);
        let full = app.post(&app.admin, "/api/v1/assignments", json!({"role_id": crew.role, "volunteer_id": crew.leader})).await;
        assert_eq!(full.status, StatusCode::CONFLICT, "two seats, both taken again: {}", full.body);
        // Sent again (a double tap, a retry), the same form counts once.
        let again = submit(&app, &decline, &[("csrf", &csrf), ("key", &key), ("reason", "临时出差")]).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
        assert_eq!(app.count("page_actions").await, 2);
    }
}

db_test! {
    async fn forms_from_other_sites_or_without_their_token_are_refused_and_change_nothing(app: TestApp) {
        let crew = crew(&app).await;
        let [assignment, _] = crew.assignments;
        let page_path = path_of(&app, volunteer(&app, crew.members[0]).await["page_url"].as_str().unwrap());
        let confirm = format!("{page_path}/assignments/{assignment}/confirm");
        let (csrf, key) = open(&app, &page_path).await.form(&confirm);
        let elsewhere = submit_from(&app, &confirm, "https://evil.example", &[("csrf", &csrf), ("key", &key)]).await;
        assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
        assert!(elsewhere.text().contains("请从您的个人页面操作"), "{}", elsewhere.text());
        let tokenless = submit(&app, &confirm, &[("key", &key)]).await;
        assert_eq!(tokenless.status, StatusCode::FORBIDDEN);
        let forged = submit(&app, &confirm, &[("csrf", "00000000000000000000000000000000"), ("key", &key)]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(status(&app, assignment).await, "proposed");
        assert_eq!(app.count("page_actions").await, 0);
    }
}

db_test! {
    async fn a_personal_address_opens_only_its_owners_assignments_until_it_is_renewed(app: TestApp) {
        let crew = crew(&app).await;
        let [first, second] = crew.members;
        let [_, theirs] = crew.assignments;
        let page_path = path_of(&app, volunteer(&app, first).await["page_url"].as_str().unwrap());
        let (csrf, key) = open(&app, &page_path).await.form(&format!("{page_path}/assignments/{}/confirm", crew.assignments[0]));
        // Another volunteer's assignment answers as if it did not exist.
        let other = submit(&app, &format!("{page_path}/assignments/{theirs}/confirm"), &[("csrf", &csrf), ("key", &key)]).await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        assert_eq!(status(&app, theirs).await, "proposed");

        // Only those who see the volunteer's personal data see the address.
        let stranger = app.organizer(crew.seed.ganyu).await;
        let seen = app.get_as(&stranger, &format!("/api/v1/volunteers/{second}")).await;
        assert!(seen.body.get("page_url").is_none(), "{}", seen.body);
        let own = app.volunteer_token(first).await;
        let mine = app.get_as(&own, &format!("/api/v1/volunteers/{first}")).await;
        assert_eq!(mine.body["page_url"].as_str().map(|u| path_of(&app, u)), Some(page_path.clone()));

        // Renewed, the old address is gone and the new one works.
        let forbidden = app.post(&stranger, &format!("/api/v1/volunteers/{first}/page-token"), json!({})).await;
        assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
        let renewed = app.post(&own, &format!("/api/v1/volunteers/{first}/page-token"), json!({})).await;
        assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
        let new_path = path_of(&app, renewed.body["page_url"].as_str().unwrap());
        assert_ne!(new_path, page_path);
        assert_eq!(open(&app, &page_path).await.status, StatusCode::NOT_FOUND);
        assert_eq!(open(&app, &new_path).await.status, StatusCode::OK);
        assert_eq!(renewed.body["feed_url"], volunteer(&app, first).await["feed_url"], "the calendar link is its own");
    }
}

db_test! {
    async fn organizers_get_a_teams_page_addresses_with_masked_mobiles_as_csv(app: TestApp) {
        let crew = crew(&app).await;
        let path = format!("/api/v1/teams/{}/page-links", crew.team);
        let organizer = app.organizer(crew.seed.haizhou).await;
        let response = app.request(reqwest::Method::GET, &path).bearer_auth(&organizer).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        let text = response.text().await.unwrap();
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        assert_eq!(lines.next(), Some("姓名,手机号,个人页面"));
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 3, "{text}");
        let page = volunteer(&app, crew.members[0]).await["page_url"].as_str().unwrap().to_owned();
        assert!(rows.contains(&format!("王志愿,138****2222,{page}").as_str()), "{text}");
        assert!(!text.contains("13800002222"));

        assert_eq!(app.get(&path).await.status, StatusCode::UNAUTHORIZED);
        let stranger = app.organizer(crew.seed.ganyu).await;
        assert_eq!(app.get_as(&stranger, &path).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get_as(&organizer, "/api/v1/teams/999/page-links").await.status, StatusCode::NOT_FOUND);
    }
}
