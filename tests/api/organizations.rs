//! `/api/v1/organizations`.

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn creating_an_organization_returns_201_with_location_and_etag(app: TestApp) {
        let reply = app
            .post(&app.admin, "/api/v1/organizations", json!({
                "key": "org.lyg", "kind": "city_association", "name": " 连云港市科学技术协会 ", "short_name": "市科协",
                "contact": {"office_phone": "0518-85803554", "email": "lygkxbgs@126.com"}
            }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let created = &reply.body;
        assert_eq!(reply.header("location"), Some(format!("/api/v1/organizations/{}", id(created))));
        assert_eq!(reply.etag(), "\"1\"");
        assert_eq!(created["name"], "连云港市科学技术协会");
        assert_eq!(created["contact"]["office_phone"], "0518-85803554");
        let read = app.get(&format!("/api/v1/organizations/{}", id(created))).await;
        assert_eq!(read.status, StatusCode::OK);
        assert_eq!(read.body["key"], "org.lyg");
        assert_eq!(read.etag(), "\"1\"");
    }
}

db_test! {
    async fn every_invalid_field_is_reported_at_once_and_nothing_is_written(app: TestApp) {
        let reply = app
            .post(&app.admin, "/api/v1/organizations", json!({
                "key": "有空格 的key", "kind": "city_association", "name": "x".repeat(201),
                "contact": {"office_phone": "85803554", "mobile": "1380000", "email": "lygkxbgs"}
            }))
            .await;
        let mut fields = reply.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["contact.email", "contact.mobile", "contact.office_phone", "key", "name"]);
        let padded = app
            .post(&app.admin, "/api/v1/organizations", json!({"kind": "other", "name": "x", "contact": {"fax": " ".repeat(41)}}))
            .await;
        assert_eq!(padded.invalid_fields(), ["contact.fax"]);
        assert_eq!(app.count("organizations").await, 0);
    }
}

db_test! {
    async fn a_duplicate_key_is_a_conflict(app: TestApp) {
        let body = json!({"key": "org.lyg", "kind": "city_association", "name": "市科协"});
        app.create("/api/v1/organizations", body.clone()).await;
        let reply = app.post(&app.admin, "/api/v1/organizations", body).await;
        assert_eq!(reply.problem(StatusCode::CONFLICT, "conflict")["code"], "duplicate_key");
        assert_eq!(app.count("organizations").await, 1);
    }
}

db_test! {
    async fn an_organizer_creates_organizations_only_inside_its_subtree(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = app.organizer(seed.haizhou).await;
        let inside = app
            .post(&haizhou, "/api/v1/organizations", json!({"parent_id": seed.haizhou, "kind": "society", "name": "海州区科普志愿者协会"}))
            .await;
        assert_eq!(inside.status, StatusCode::CREATED, "{}", inside.body);
        let sibling = app
            .post(&haizhou, "/api/v1/organizations", json!({"parent_id": seed.ganyu, "kind": "society", "name": "赣榆区学会"}))
            .await;
        sibling.problem(StatusCode::FORBIDDEN, "forbidden");
        let root = app.post(&haizhou, "/api/v1/organizations", json!({"kind": "other", "name": "新的根"})).await;
        root.problem(StatusCode::FORBIDDEN, "forbidden");
        let unknown_parent = app
            .post(&haizhou, "/api/v1/organizations", json!({"parent_id": 999, "kind": "other", "name": "无"}))
            .await;
        assert_eq!(unknown_parent.invalid_fields(), ["parent_id"]);
    }
}

db_test! {
    async fn mobile_numbers_are_shown_only_to_those_who_manage_the_organization(app: TestApp) {
        let seed = app.seed().await;
        let path = format!("/api/v1/organizations/{}", seed.haizhou);
        let reply = app.patch_current(&path, json!({"contact": {"name": "王老师", "mobile": "13812345678"}})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let own = app.organizer(seed.haizhou).await;
        let other = app.organizer(seed.ganyu).await;
        assert_eq!(app.get_as(&app.admin, &path).await.body["contact"]["mobile"], "13812345678");
        assert_eq!(app.get_as(&own, &path).await.body["contact"]["mobile"], "13812345678");
        assert_eq!(app.get_as(&other, &path).await.body["contact"]["mobile"], "138****5678");
        assert_eq!(app.get(&path).await.body["contact"]["mobile"], "138****5678");
        let listed = app.get("/api/v1/organizations").await;
        assert!(!listed.body.to_string().contains("13812345678"));
    }
}

db_test! {
    async fn a_patch_changes_only_the_fields_it_names_and_bumps_the_version(app: TestApp) {
        let seed = app.seed().await;
        let path = format!("/api/v1/organizations/{}", seed.haizhou);
        let reply = app
            .patch(&app.admin, &path, "\"1\"", json!({"short_name": "海州区科协", "contact": {"email": "hz@example.org"}}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.etag(), "\"2\"");
        assert_eq!(reply.body["name"], "连云港市海州区科学技术协会");
        assert_eq!(reply.body["short_name"], "海州区科协");
        assert_eq!(reply.body["contact"]["email"], "hz@example.org");
        // Sending the same values again changes nothing, not even the version.
        let again = app
            .patch(&app.admin, &path, "\"2\"", json!({"short_name": "海州区科协"}))
            .await;
        assert_eq!(again.etag(), "\"2\"");
        let cleared = app.patch(&app.admin, &path, "*", json!({"short_name": null})).await;
        assert_eq!(cleared.body["short_name"], serde_json::Value::Null);
        let refused = app.patch(&app.admin, &path, "*", json!({"name": null})).await;
        assert_eq!(refused.invalid_fields(), ["name"], "a name cannot be cleared");
    }
}

db_test! {
    async fn a_stale_if_match_is_refused_with_412_and_changes_nothing(app: TestApp) {
        let seed = app.seed().await;
        let path = format!("/api/v1/organizations/{}", seed.haizhou);
        let first = app.patch(&app.admin, &path, "\"1\"", json!({"short_name": "甲"})).await;
        assert_eq!(first.status, StatusCode::OK);
        let second = app.patch(&app.admin, &path, "\"1\"", json!({"short_name": "乙"})).await;
        second.problem(StatusCode::PRECONDITION_FAILED, "stale-version");
        assert_eq!(app.get(&path).await.body["short_name"], "甲");
        let missing = app
            .request(reqwest::Method::PATCH, &path)
            .bearer_auth(&app.admin)
            .json(&json!({"short_name": "丙"}))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::PRECONDITION_REQUIRED);
        let weak = app.patch(&app.admin, &path, "W/\"2\"", json!({"short_name": "丁"})).await;
        weak.problem(StatusCode::PRECONDITION_FAILED, "stale-version");
    }
}

db_test! {
    async fn moving_an_organization_moves_its_whole_subtree(app: TestApp) {
        let seed = app.seed().await;
        let street = app
            .create("/api/v1/organizations", json!({"parent_id": seed.haizhou, "kind": "other", "name": "新南街道科协"}))
            .await;
        let community = app
            .create("/api/v1/organizations", json!({"parent_id": id(&street), "kind": "other", "name": "新南社区科普站"}))
            .await;
        let moved = app
            .patch_current(&format!("/api/v1/organizations/{}", id(&street)), json!({"parent_id": seed.ganyu}))
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        assert_eq!(moved.body["parent_id"], seed.ganyu);
        let under_ganyu = app.get(&format!("/api/v1/organizations?organization_id={}", seed.ganyu)).await;
        assert_eq!(under_ganyu.ids(), [seed.ganyu, id(&street), id(&community)]);
        let under_haizhou = app.get(&format!("/api/v1/organizations?organization_id={}", seed.haizhou)).await;
        assert_eq!(under_haizhou.ids(), [seed.haizhou]);
        // The organizers' scope follows the tree.
        let ganyu = app.organizer(seed.ganyu).await;
        let edit = app
            .patch(&ganyu, &format!("/api/v1/organizations/{}", id(&community)), "*", json!({"short_name": "新南站"}))
            .await;
        assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
        let haizhou = app.organizer(seed.haizhou).await;
        let refused = app
            .patch(&haizhou, &format!("/api/v1/organizations/{}", id(&community)), "*", json!({"short_name": "x"}))
            .await;
        refused.problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

db_test! {
    async fn an_organization_cannot_be_placed_under_its_own_descendant(app: TestApp) {
        let seed = app.seed().await;
        let street = app
            .create("/api/v1/organizations", json!({"parent_id": seed.haizhou, "kind": "other", "name": "新南街道科协"}))
            .await;
        let reply = app
            .patch_current(&format!("/api/v1/organizations/{}", seed.haizhou), json!({"parent_id": id(&street)}))
            .await;
        assert_eq!(reply.invalid_fields(), ["parent_id"]);
        assert_eq!(reply.body["errors"][0]["code"], "cycle");
        let itself = app
            .patch_current(&format!("/api/v1/organizations/{}", seed.haizhou), json!({"parent_id": seed.haizhou}))
            .await;
        assert_eq!(itself.invalid_fields(), ["parent_id"]);
    }
}

db_test! {
    async fn an_organization_in_use_cannot_be_deleted(app: TestApp) {
        let seed = app.seed().await;
        let reply = app.delete(&app.admin, &format!("/api/v1/organizations/{}", seed.city)).await;
        assert_eq!(reply.problem(StatusCode::CONFLICT, "in-use")["code"], "in_use");
        let spare = app.create("/api/v1/organizations", json!({"parent_id": seed.city, "kind": "society", "name": "连云港市数学学会"})).await;
        let path = format!("/api/v1/organizations/{}", id(&spare));
        let stale = app
            .request(reqwest::Method::DELETE, &path)
            .bearer_auth(&app.admin)
            .header("If-Match", "\"7\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(app.delete(&app.admin, &path).await.status, StatusCode::NO_CONTENT);
        app.get(&path).await.problem(StatusCode::NOT_FOUND, "not-found");
    }
}

db_test! {
    async fn the_list_filters_by_parent_and_kind_and_pages_with_a_cursor(app: TestApp) {
        let seed = app.seed().await;
        for name in ["连云区科协", "东海县科协", "灌云县科协", "灌南县科协"] {
            app.create("/api/v1/organizations", json!({"parent_id": seed.city, "kind": "county_association", "name": name})).await;
        }
        app.create("/api/v1/organizations", json!({"parent_id": seed.city, "kind": "society", "name": "连云港市医学会"})).await;
        let counties = app.get(&format!("/api/v1/organizations?parent_id={}&kind=county_association", seed.city)).await;
        assert_eq!(counties.ids().len(), 6);
        let mut seen = Vec::new();
        let mut path = "/api/v1/organizations?limit=3".to_owned();
        loop {
            let page = app.get(&path).await;
            assert!(page.ids().len() <= 3);
            seen.extend(page.ids());
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/organizations?limit=3&cursor={cursor}"),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seen, sorted, "pages neither repeat nor skip");
        assert_eq!(seen.len(), 8);
        let bad = app.get("/api/v1/organizations?kind=planet").await;
        assert_eq!(bad.invalid_fields(), ["kind"]);
        let unknown = app.get("/api/v1/organizations?organization_id=999").await;
        assert_eq!(unknown.invalid_fields(), ["organization_id"]);
    }
}

db_test! {
    async fn lists_search_names_and_return_what_changed_since_a_moment(app: TestApp) {
        sciday::transfer::import(&app.db, &serde_json::from_str(sciday::cli::SAMPLE_PROGRAM).unwrap(), app.policy(), &|| {})
            .await
            .unwrap();
        let names = |reply: &crate::helpers::Reply, key: &str| -> Vec<String> {
            reply.body["data"].as_array().unwrap().iter().map(|r| r[key].as_str().unwrap().to_owned()).collect()
        };
        let search = |path: &str, q: &str| format!("{path}?q={}", url_encoded(q));
        let counties = app.get(&search("/api/v1/organizations", "县科学技术协会")).await;
        assert!(!counties.ids().is_empty());
        assert!(names(&counties, "name").iter().all(|n| n.contains("县科学技术协会")), "{}", counties.body);
        let short = app.get(&search("/api/v1/organizations", "中国科协")).await;
        assert_eq!(names(&short, "name"), ["中国科学技术协会"], "the short name counts");
        let beijing = app.get(&search("/api/v1/venues", "科技会堂")).await;
        assert_eq!(names(&beijing, "name"), ["科技会堂"]);
        let lecture = app.get(&search("/api/v1/activities", "李保国")).await;
        assert_eq!(lecture.ids().len(), 1, "{}", lecture.body);
        let literal = app.get("/api/v1/teams?q=%25").await;
        assert!(literal.ids().is_empty(), "% is a character, not a wildcard: {}", literal.body);
        let volunteers = app.get_as(&app.admin, "/api/v1/volunteers?limit=1").await;
        let first = volunteers.body["data"][0]["name"].as_str().unwrap().to_owned();
        let found = app.get_as(&app.admin, &format!("/api/v1/volunteers?q={}", url_encoded(&first))).await;
        assert!(names(&found, "name").contains(&first), "{}", found.body);
        let too_long = app.get(&format!("/api/v1/teams?q={}", "x".repeat(65))).await;
        assert_eq!(too_long.invalid_fields(), ["q"]);

        app.clock.advance(chrono::TimeDelta::hours(1));
        let since = app.policy().now.to_rfc3339();
        let nothing = app.get(&format!("/api/v1/organizations?updated_since={}", url_encoded(&since))).await;
        assert!(nothing.ids().is_empty(), "{}", nothing.body);
        let changed = id(&app.get("/api/v1/organizations?limit=1").await.body["data"][0]);
        let patched = app.patch_current(&format!("/api/v1/organizations/{changed}"), json!({"short_name": "新简称"})).await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        let recent = app.get(&format!("/api/v1/organizations?updated_since={}", url_encoded(&since))).await;
        assert_eq!(recent.ids(), [changed]);
        let local = app.get("/api/v1/organizations?updated_since=2019-05-10T09:00").await;
        assert_eq!(local.invalid_fields(), ["updated_since"]);
    }
}

fn url_encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
