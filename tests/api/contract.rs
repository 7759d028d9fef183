//! The OpenAPI document as a contract: what a generated client makes of it, checked by
//! generating one (openapi-python-client, default settings) and using it against the server.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::helpers::{Backend, TestApp};

/// The Python environment holding openapi-python-client and openapi-spec-validator:
/// `SCIDAY_CLIENT_VENV` (set by `.ci/run`, which makes it), else `target/client-venv` when a
/// previous CI run left one. `None`, said out loud, when there is neither.
fn client_venv() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("SCIDAY_CLIENT_VENV") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("bin/openapi-python-client").exists(),
            "SCIDAY_CLIENT_VENV={} holds no openapi-python-client",
            dir.display()
        );
        return Some(dir);
    }
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/client-venv");
    if default.join("bin/openapi-python-client").exists() {
        return Some(default);
    }
    use std::io::Write as _;
    // Written past the test harness's capture so it shows in every run.
    let _ = writeln!(
        std::io::stderr(),
        "\nNOTE: SCIDAY_CLIENT_VENV is not set and target/client-venv does not exist: the generated \
         Python client was NOT tried (the test passed without doing anything). `bash .ci/run` makes \
         the environment; so does\n  python3 -m venv target/client-venv && target/client-venv/bin/pip \
         install openapi-python-client==0.29.1 openapi-spec-validator==0.9.0\n"
    );
    None
}

/// Runs a program of the venv with the venv first on `PATH` (the generator formats its output
/// with the `ruff` installed beside it) and returns what it said.
async fn run(venv: &Path, program: &str, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    tokio::process::Command::new(venv.join("bin").join(program))
        .args(args)
        .env("PATH", path)
        .env("VIRTUAL_ENV", venv)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program} does not start: {e}"))
}

fn said(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes the document where `.ci/run` validates it again, and into `dir` for the generator.
fn write_document(document: &Value, dir: &Path) -> PathBuf {
    let text = serde_json::to_string_pretty(document).unwrap();
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("openapi.json"), &text).unwrap();
    let file = dir.join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    file
}

/// Every operation of the document as (tag, operationId).
fn operations(document: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for item in document["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let tag = operation["tags"][0].as_str().unwrap_or("default").to_owned();
            found.push((tag, operation["operationId"].as_str().unwrap().to_owned()));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_generated_from_the_document_schedules_a_session_on_30_may() {
    let Some(venv) = client_venv() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let document = app.get("/api/v1/openapi.json").await.body;
    let work = tempfile::tempdir().unwrap();
    let file = write_document(&document, work.path());
    let file = file.to_str().unwrap();

    let validated = run(&venv, "openapi-spec-validator", &[file]).await;
    assert!(
        validated.status.success(),
        "openapi-spec-validator: {}",
        said(&validated)
    );

    let out = work.path().join("client");
    let generated = run(
        &venv,
        "openapi-python-client",
        &["generate", "--path", file, "--output-path", out.to_str().unwrap()],
    )
    .await;
    assert!(
        generated.status.success(),
        "openapi-python-client: {}",
        said(&generated)
    );
    let told = said(&generated);
    assert!(
        !told.contains("WARNING") && !told.contains("Warning"),
        "the generator warned: {told}"
    );
    let package = out.join("sciday_client/api");
    let operations = operations(&document);
    assert_eq!(operations.len(), 85, "operations in the document");
    for (tag, operation_id) in &operations {
        let module = package.join(tag).join(format!("{operation_id}.py"));
        assert!(
            module.exists(),
            "{operation_id} was not generated ({} missing)",
            module.display()
        );
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/client/use_generated_client.py");
    let used = run(
        &venv,
        "python",
        &[
            script.to_str().unwrap(),
            out.to_str().unwrap(),
            &app.address,
            &app.admin,
        ],
    )
    .await;
    assert!(used.status.success(), "the generated client failed: {}", said(&used));
}

/// What a page or stylesheet refers to: `src`, `href` and CSS `url(…)` targets.
fn references(text: &str) -> Vec<String> {
    let pattern = regex::Regex::new(r#"(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)["']?\s*\)"#).unwrap();
    pattern
        .captures_iter(text)
        .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_owned()))
        .filter(|r| !r.starts_with("data:") && !r.starts_with('#'))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_at_docs_loads_everything_from_this_host() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let page = app.request(reqwest::Method::GET, "/docs").send().await.unwrap();
    assert_eq!(page.url().path(), "/docs/", "/docs leads to the page");
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        policy.starts_with("default-src 'self'") && !policy.contains("http"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    let assets = references(&html);
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{html}");
    let mut seen = Vec::new();
    for asset in &assets {
        assert!(
            !asset.contains("://") && !asset.starts_with("//"),
            "the page loads {asset} from another host"
        );
        let path = format!("/docs/{}", asset.trim_start_matches("./"));
        let reply = app.request(reqwest::Method::GET, &path).send().await.unwrap();
        assert_eq!(reply.status(), reqwest::StatusCode::OK, "{path}");
        let body = reply.text().await.unwrap_or_default();
        assert!(!body.is_empty(), "{path} is empty");
        if path.ends_with(".css") {
            for inner in references(&body) {
                assert!(
                    !inner.contains("://") && !inner.starts_with("//"),
                    "{path} loads {inner}"
                );
            }
        }
        seen.push((path, body));
    }
    let (_, initializer) = seen
        .iter()
        .find(|(path, _)| path.ends_with("swagger-initializer.js"))
        .expect("the page starts Swagger UI from a file of this host");
    assert!(
        initializer.contains("\"url\": \"/api/v1/openapi.json\""),
        "{initializer}"
    );
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "no outside validator: {initializer}"
    );
    assert!(!initializer.contains("://"), "{initializer}");
    assert_eq!(app.get("/api/v1/openapi.json").await.status, reqwest::StatusCode::OK);
}
