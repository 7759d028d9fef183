//! Protection of the personal pages' forms against requests made from other sites.
//!
//! Two checks, both needed: the form carries a token derived from the page's own secret
//! token (a page elsewhere cannot know it), and a browser that says where the request comes
//! from (`Sec-Fetch-Site`, `Origin`) must say it comes from this site.

use axum::http::{HeaderMap, header};
use sha2::{Digest as _, Sha256};

use super::PageError;

/// The form token of the page whose secret is `page_token`.
pub fn token(page_token: &str) -> String {
    let digest = Sha256::digest(format!("sciday form {page_token}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses a form that was not sent from one of our pages.
pub fn check(headers: &HeaderMap, public_url: &str, page_token: &str, given: Option<&str>) -> Result<(), PageError> {
    let refused = || PageError::forbidden("请从您的个人页面操作（页面可能已过期，请刷新后重试）。");
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(refused());
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin != "null"
        && !same_origin(origin, public_url, headers)
    {
        return Err(refused());
    }
    let expected = token(page_token);
    let given = given.unwrap_or_default();
    let same = expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same { Ok(()) } else { Err(refused()) }
}

/// Whether `origin` is this service: its public address, or the host the request was sent to.
fn same_origin(origin: &str, public_url: &str, headers: &HeaderMap) -> bool {
    if origin.eq_ignore_ascii_case(public_url.trim_end_matches('/')) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    host.is_some_and(|host| origin_host.is_some_and(|o| o.eq_ignore_ascii_case(host)))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const PAGE: &str = "0123456789abcdef0123456789abcdef";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_form_from_our_page_passes() {
        let ours = headers(&[("origin", "https://sciday.example"), ("sec-fetch-site", "same-origin")]);
        assert!(check(&ours, "https://sciday.example", PAGE, Some(&token(PAGE))).is_ok());
        let via_host = headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")]);
        assert!(check(&via_host, "https://sciday.example", PAGE, Some(&token(PAGE))).is_ok());
    }

    #[test]
    fn forms_from_other_sites_or_without_the_token_are_refused() {
        let ours = headers(&[("origin", "https://sciday.example")]);
        assert!(check(&ours, "https://sciday.example", PAGE, None).is_err());
        assert!(
            check(
                &ours,
                "https://sciday.example",
                PAGE,
                Some(&token("f".repeat(32).as_str()))
            )
            .is_err()
        );
        let elsewhere = headers(&[("origin", "https://evil.example")]);
        assert!(check(&elsewhere, "https://sciday.example", PAGE, Some(&token(PAGE))).is_err());
        let cross = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(check(&cross, "https://sciday.example", PAGE, Some(&token(PAGE))).is_err());
    }
}
