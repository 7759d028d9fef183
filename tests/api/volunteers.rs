//! `/api/v1/volunteers`, and who may see their personal data.

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn a_volunteer_is_created_with_teams_qualifications_and_unavailability(app: TestApp) {
        let seed = app.seed().await;
        let team = app.create("/api/v1/teams", json!({"organization_id": seed.city, "name": "科普专家讲师团"})).await;
        let reply = app
            .post(&app.admin, "/api/v1/volunteers", json!({
                "key": "v.li", "name": "李华", "mobile": "+86 139-0000-0001", "email": "lihua@Example.ORG",
                "organization_id": seed.haizhou, "tags": ["医院院长", "科学普及"],
                "teams": [{"team_id": id(&team)}],
                "qualifications": [{"name": "执业医师", "valid_from": "2010-07-01", "valid_until": "2025-06-30"}],
                "unavailable": [{"starts_at": "2019-05-29T00:00:00+08:00", "ends_at": "2019-05-30T00:00:00+08:00", "reason": "外出开会"}]
            }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let body = &reply.body;
        assert_eq!(body["mobile"], "13900000001");
        assert_eq!(body["email"], "lihua@example.org");
        assert_eq!(body["teams"], json!([{"team_id": id(&team), "leader": false}]));
        assert_eq!(body["qualifications"][0]["name"], "执业医师");
        assert_eq!(body["unavailable"][0]["reason"], "外出开会");
        let by_tag = app.get_as(&app.admin, "/api/v1/volunteers?tag=医院院长").await;
        assert_eq!(by_tag.ids(), [id(body)]);
        let by_team = app.get_as(&app.admin, &format!("/api/v1/volunteers?team_id={}", id(&team))).await;
        assert_eq!(by_team.ids(), [id(body)]);
    }
}

db_test! {
    async fn mobiles_and_emails_are_shown_only_to_admins_own_organizers_and_the_volunteer(app: TestApp) {
        let seed = app.seed().await;
        let volunteer = app
            .create("/api/v1/volunteers", json!({
                "name": "赵敏", "mobile": "13900000002", "email": "zhaomin@example.org", "organization_id": seed.haizhou,
                "unavailable": [{"starts_at": "2019-05-29T00:00:00+08:00", "ends_at": "2019-05-30T00:00:00+08:00", "reason": "住院"}]
            }))
            .await;
        let path = format!("/api/v1/volunteers/{}", id(&volunteer));
        let own = app.organizer(seed.haizhou).await;
        let city = app.organizer(seed.city).await;
        let other = app.organizer(seed.ganyu).await;
        let me = app
            .create("/api/v1/tokens", json!({"name": "赵敏", "role": "volunteer", "volunteer_id": id(&volunteer)}))
            .await["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        for token in [&app.admin, &own, &city, &me] {
            let seen = app.get_as(token, &path).await;
            assert_eq!(seen.body["mobile"], "13900000002");
            assert_eq!(seen.body["email"], "zhaomin@example.org");
            assert_eq!(seen.body["unavailable"][0]["reason"], "住院");
        }
        // Another organization's organizer sees the volunteer only once she serves at one of its
        // sessions, and then without her contact details.
        app.get_as(&other, &path).await.problem(StatusCode::NOT_FOUND, "not-found");
        app.get(&path).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        let ganyu_session = app
            .create("/api/v1/activities", json!({"program_id": seed.program, "title": "赣榆区科普讲座", "organization_id": seed.ganyu}))
            .await;
        let session = app.session(id(&ganyu_session), seed.venue, "2019-05-21T09:00+08:00", "2019-05-21T11:00+08:00").await;
        let role = app.create("/api/v1/session-roles", json!({"session_id": id(&session), "name": "讲解员", "needed": 1})).await;
        app.create("/api/v1/assignments", json!({"role_id": id(&role), "volunteer_id": id(&volunteer)})).await;
        let seen = app.get_as(&other, &path).await;
        assert_eq!(seen.body["mobile"], "139****0002");
        assert!(seen.body.get("email").is_none());
        assert!(seen.body.get("unavailable").is_none());
        let listed = app.get_as(&other, "/api/v1/volunteers").await;
        assert_eq!(listed.ids(), [id(&volunteer)]);
        let listed = listed.body.to_string();
        assert!(!listed.contains("13900000002") && !listed.contains("zhaomin@"));
    }
}

db_test! {
    async fn a_patch_replaces_only_the_lists_it_names(app: TestApp) {
        let seed = app.seed().await;
        let team = app.create("/api/v1/teams", json!({"organization_id": seed.city, "name": "科普志愿者服务团"})).await;
        let volunteer = app
            .create("/api/v1/volunteers", json!({
                "name": "钱进", "organization_id": seed.city, "teams": [{"team_id": id(&team)}],
                "qualifications": [{"name": "教师资格"}]
            }))
            .await;
        let path = format!("/api/v1/volunteers/{}", id(&volunteer));
        let reply = app.patch(&app.admin, &path, "\"1\"", json!({"qualifications": [{"name": "执业医师"}]})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["qualifications"], json!([{"name": "执业医师"}]));
        assert_eq!(reply.body["teams"], json!([{"team_id": id(&team), "leader": false}]), "untouched");
        let same = app.patch(&app.admin, &path, "\"2\"", json!({"teams": [{"team_id": id(&team)}]})).await;
        assert_eq!(same.etag(), "\"2\"", "the same list is no change");
        let cleared = app.patch(&app.admin, &path, "\"2\"", json!({"teams": null})).await;
        assert_eq!(cleared.body["teams"], json!([]));
    }
}

db_test! {
    async fn invalid_volunteers_name_every_bad_field(app: TestApp) {
        let seed = app.seed().await;
        let reply = app
            .post(&app.admin, "/api/v1/volunteers", json!({
                "name": "", "mobile": "12345", "email": "not-mail", "organization_id": seed.city,
                "teams": [{"team_id": 999}],
                "qualifications": [{"name": "执业医师", "valid_from": "2020-01-01", "valid_until": "2019-01-01"}],
                "unavailable": [{"starts_at": "2019-05-29T10:00:00+08:00", "ends_at": "2019-05-29T09:00:00+08:00"},
                                {"starts_at": "2019-05-29T10:00", "ends_at": "2019-05-29T11:00:00+08:00"}]
            }))
            .await;
        let mut fields = reply.invalid_fields();
        fields.sort();
        assert_eq!(
            fields,
            ["email", "mobile", "name", "qualifications[0].valid_until", "unavailable[0].ends_at", "unavailable[1].starts_at"]
        );
        let no_team = app
            .post(&app.admin, "/api/v1/volunteers", json!({"name": "孙", "organization_id": seed.city, "teams": [{"team_id": 999}]}))
            .await;
        assert_eq!(no_team.invalid_fields(), ["teams[0].team_id"]);
        assert_eq!(app.count("volunteers").await, 0);
    }
}

db_test! {
    async fn organizers_manage_their_own_volunteers_and_teams_decide_who_joins(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let city_team = app.create("/api/v1/teams", json!({"organization_id": seed.city, "name": "农业技术专家服务团"})).await;
        let own = app.post(&haizhou, "/api/v1/volunteers", json!({"name": "周", "organization_id": seed.haizhou})).await;
        assert_eq!(own.status, StatusCode::CREATED);
        app.post(&haizhou, "/api/v1/volunteers", json!({"name": "吴", "organization_id": seed.ganyu}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        app.post(&haizhou, "/api/v1/volunteers", json!({"name": "郑", "organization_id": seed.haizhou, "teams": [{"team_id": id(&city_team)}]}))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let city = app.organizer(seed.city).await;
        let joined = app
            .patch(&city, own.header("location").as_deref().unwrap(), "*", json!({"teams": [{"team_id": id(&city_team)}]}))
            .await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
    }
}

db_test! {
    async fn a_tag_filter_pages_through_every_match(app: TestApp) {
        let seed = app.seed().await;
        let mut doctors = Vec::new();
        for i in 0..7 {
            let tags = if i % 2 == 0 { json!(["医生"]) } else { json!(["科学普及"]) };
            let created = app.create("/api/v1/volunteers", json!({"name": format!("志愿者{i}"), "organization_id": seed.haizhou, "tags": tags})).await;
            if i % 2 == 0 {
                doctors.push(id(&created));
            }
        }
        let mut seen = Vec::new();
        let mut path = "/api/v1/volunteers?tag=%E5%8C%BB%E7%94%9F&limit=2".to_owned();
        loop {
            let page = app.get_as(&app.admin, &path).await;
            let ids = page.ids();
            assert!(ids.len() == 2 || page.body.get("next_cursor").is_none(), "a full page until the last: {}", page.body);
            seen.extend(ids);
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/volunteers?tag=%E5%8C%BB%E7%94%9F&limit=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, doctors);
    }
}
