//! Accessibility of every kind of page: axe-core finds nothing serious or critical, the
//! language is Chinese, every field has a label, and the main controls can be reached with
//! the Tab key, with a visible focus.
//!
//! axe-core comes from npm: `SCIDAY_AXE_JS`, else `target/axe/node_modules/axe-core/axe.min.js`
//! (`npm install --prefix target/axe axe-core@4.14.1`, as `.ci/run` does).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::cast::{Cast, before_the_morning, cast};
use super::{Browser, skipped};
use crate::helpers::{Backend, TestApp};

/// Every kind of page, by name and address, with the check-in window open so the volunteer's
/// and the leader's pages show everything they can.
fn pages(app: &TestApp, cast: &Cast) -> Vec<(&'static str, String)> {
    let at = |path: String| format!("{}{path}", app.address);
    vec![
        ("index", at("/".to_owned())),
        ("program", at(format!("/programs/{}", cast.seed.program))),
        ("activity", at(format!("/activities/{}", cast.seed.activity))),
        ("venue", at(format!("/venues/{}", cast.hall))),
        ("organization", at(format!("/organizations/{}", cast.seed.city))),
        ("team", at(format!("/teams/{}", cast.team))),
        ("session", at(format!("/sessions/{}", cast.morning))),
        ("volunteer", cast.members[0].person.page_url.clone()),
        ("leader", cast.leader_url.clone()),
        ("error", at("/programs/999999".to_owned())),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_page_has_no_serious_accessibility_violations_and_labels_every_field() {
    let Some(axe) = axe() else {
        return;
    };
    let Some(browser) = Browser::open("a11y-axe").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.clock.set(before_the_morning());
    let cast = cast(&app).await;
    let mut failures = Vec::new();
    for (name, url) in pages(&app, &cast) {
        browser.visit(&url, name).await;
        let lang = browser
            .script("return document.documentElement.getAttribute('lang')")
            .await;
        assert_eq!(lang, "zh-CN", "{name}: html[lang]");
        let unlabelled = browser
            .script(
                "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
                    .filter(field => !field.labels || field.labels.length === 0)
                    .map(field => field.outerHTML.slice(0, 160))",
            )
            .await;
        assert_eq!(unlabelled, json!([]), "{name}: fields without a <label>");
        browser.client.execute(&axe, vec![]).await.unwrap();
        let found = browser
            .script(
                "return axe.run(document, {resultTypes: ['violations']}).then(result => ({
                    rules: result.passes.length + result.violations.length + result.incomplete.length,
                    violations: result.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)
                    })),
                }))",
            )
            .await;
        assert!(
            found["rules"].as_u64().unwrap() > 20,
            "{name}: axe checked the page: {found}"
        );
        for violation in found["violations"].as_array().unwrap() {
            let serious = matches!(violation["impact"].as_str(), Some("serious" | "critical"));
            let line = format!(
                "{name}: {} ({}): {} at {}",
                violation["id"], violation["impact"], violation["help"], violation["nodes"]
            );
            eprintln!("axe {}", line);
            if serious {
                failures.push(line);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "serious or critical accessibility violations:\n{}",
        failures.join("\n")
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_controls_of_each_page_can_be_reached_with_the_tab_key() {
    let Some(browser) = Browser::open("a11y-keyboard").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.clock.set(before_the_morning());
    let cast = cast(&app).await;
    let controls: &[(&str, &[&str])] = &[
        ("index", &["ul.cards a"]),
        (
            "program",
            &[
                "#f-venue",
                "form.filters button[type=submit]",
                "ol.sessions h3 a",
                "section.subscribe a.button",
                "#feed-url",
            ],
        ),
        ("session", &[".crumbs a", "dl.facts a"]),
        (
            "volunteer",
            &[
                "form[action$='/confirm'] button",
                "details > summary",
                "section.subscribe a.button",
            ],
        ),
        (
            "leader",
            &[
                "#code",
                ".scan form.act button[type=submit]",
                "ul.roster form.act button",
            ],
        ),
        ("error", &["main a[href='/']"]),
    ];
    let pages = pages(&app, &cast);
    for (name, targets) in controls {
        let url = &pages.iter().find(|(page, _)| page == name).unwrap().1;
        browser.visit(url, &format!("{name}-keys")).await;
        browser.tab().await;
        let skip = focused(&browser, &[]).await;
        assert_eq!(
            skip["name"], "a.skip 跳到正文",
            "{name}: the first Tab lands on the skip link"
        );
        assert!(
            skip["left"].as_f64().unwrap() >= 0.0,
            "{name}: the focused skip link is on screen"
        );
        let mut left: Vec<&str> = targets.to_vec();
        let mut path = Vec::new();
        for _ in 0..80 {
            if left.is_empty() {
                break;
            }
            browser.tab().await;
            let now = focused(&browser, &left).await;
            path.push(now["name"].as_str().unwrap_or_default().to_owned());
            for reached in now["matched"].as_array().unwrap() {
                let reached = reached.as_str().unwrap();
                assert_ne!(now["outline"], "none", "{name}: {reached} shows no focus outline");
                left.retain(|target| *target != reached);
            }
        }
        assert!(
            left.is_empty(),
            "{name}: Tab never reached {left:?}; it went {}",
            path.join(" → ")
        );
    }
    browser.close().await;
}

/// What has the keyboard focus: a short name, which of `targets` it matches, its outline
/// and where it is.
async fn focused(browser: &Browser, targets: &[&str]) -> Value {
    browser
        .client
        .execute(
            "const e = document.activeElement;
             const label = (e.textContent || e.value || '').trim().replace(/\\s+/g, ' ').slice(0, 24);
             return {
                 name: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '') + ' ' + label,
                 matched: arguments[0].filter(selector => e.matches(selector)),
                 outline: getComputedStyle(e).outlineStyle,
                 left: e.getBoundingClientRect().left,
             };",
            vec![json!(targets)],
        )
        .await
        .unwrap()
}

/// The source of axe-core; `None`, said out loud, when it is not installed and not required.
fn axe() -> Option<String> {
    let path = std::env::var_os("SCIDAY_AXE_JS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/axe/node_modules/axe-core/axe.min.js"),
        PathBuf::from,
    );
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(error) => {
            let required = std::env::var("SCIDAY_BROWSER_TESTS").is_ok_and(|v| v == "required");
            assert!(
                !required,
                "SCIDAY_BROWSER_TESTS=required but axe-core is missing at {}: {error}",
                path.display()
            );
            skipped(&format!("axe-core is not at {}", path.display()));
            None
        }
    }
}
