//! `GET /feeds/{collection}/{file}.ics`: calendar feeds, with validators that make polling
//! cheap (`ETag`, `Last-Modified`, 304) and gzip for clients that ask for it.

use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::AppState;
use super::openapi::FeedErrors;
use crate::auth::is_feed_token;
use crate::domain::field::FieldError;
use crate::domain::time::Bound;
use crate::error::{Error, Result};
use crate::feeds::service::{FeedKey, Params, Target, Validated};

/// `Cache-Control` of public feeds: browsers and calendar apps revalidate every time (a 304
/// costs the service almost nothing), while a shared cache (a CDN, an nginx cache) may answer
/// for 30 seconds without asking and 30 more while it revalidates in the background.
pub const SHARED: &str = "public, max-age=0, must-revalidate, s-maxage=30, stale-while-revalidate=30";

/// `Cache-Control` of personal feeds and pages: only the subscriber's own client keeps them.
pub const PRIVATE: &str = "private, no-cache";

/// Most reminders one request may ask for.
const MAX_ALARMS: usize = 5;

/// A calendar feed.
///
/// `collection` is `programs`, `activities`, `venues`, `organizations`, `teams` (by id) or
/// `volunteers` (by the volunteer's feed token); `file` is `{id}.ics` or `{token}.ics`.
/// Public feeds show public sessions only; a team feed shows the public sessions its members
/// serve at (counts per role, no names); a personal feed shows the volunteer's assignments
/// with role, status and reminders.
///
/// A feed holds at most 5,000 events (a server setting): one with more is refused with a 422
/// `feed-too-large` problem whose `narrower` member lists feeds that show part of it (an
/// organization's suborganizations, a program's or organization's activities, an activity's
/// venues, a team's sub-teams) and the same feed for the next 30 days.
#[utoipa::path(
    get,
    path = "/feeds/{collection}/{file}",
    tag = "feeds",
    params(
        ("collection" = String, Path, description = "programs, activities, venues, organizations, teams or volunteers"),
        ("file" = String, Path, description = "`{id}.ics`, or `{token}.ics` for a personal feed"),
        ("from" = Option<String>, Query, description = "Sessions ending after this day (YYYY-MM-DD, in the feed's time zone) or instant (RFC 3339, widened to the start of its day); default 30 days ago"),
        ("to" = Option<String>, Query, description = "Sessions starting before this day or instant; default 400 days after today"),
        ("alarms" = Option<String>, Query, description = "Reminders before each event, such as `1d,1h,15m`, or `none`; personal feeds default to `1d,1h`, others to none"),
        ("If-None-Match" = Option<String>, Header, description = "ETag of the copy the client has"),
        ("If-Modified-Since" = Option<String>, Header, description = "Last-Modified of the copy the client has"),
    ),
    responses(
        (status = OK, description = "The feed", content_type = "text/calendar"),
        (status = NOT_MODIFIED, description = "The client's copy is current"),
        FeedErrors,
    )
)]
pub async fn feed(
    State(state): State<AppState>,
    Path((collection, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let target = target(&collection, &file).ok_or(Error::NotFound("feed"))?;
    let params = params(query.as_deref().unwrap_or(""))?;
    let key = FeedKey { target, params };
    let now = state.clock.now();
    let validated = state.feeds.validate(&state.db, now, &key).await?;
    let personal = key.target.is_personal();

    if not_modified(&headers, &validated, now) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        let etag = if accepts_gzip(&headers) {
            &validated.gzip_etag
        } else {
            &validated.etag
        };
        common_headers(response.headers_mut(), &validated, etag, personal);
        return Ok(response);
    }

    let body = state.feeds.body(&state.db, &validated, now).await?;
    let gzip = accepts_gzip(&headers);
    let (bytes, etag) = if gzip {
        (body.gzip().await?, &validated.gzip_etag)
    } else {
        (body.plain.clone(), &validated.etag)
    };
    let length = bytes.len();
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    common_headers(headers, &validated, etag, personal);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    let disposition = format!(
        "inline; filename=\"{}\"; filename*=UTF-8''{}.ics",
        validated.filename,
        utf8_percent_encode(&validated.title, NON_ALPHANUMERIC)
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The feed a path names, if it names one.
fn target(collection: &str, file: &str) -> Option<Target> {
    let name = file.strip_suffix(".ics")?;
    if collection == "volunteers" {
        return is_feed_token(name).then(|| Target::Volunteer(name.to_owned()));
    }
    // Digits only: no sign, no spaces, no leading `+`.
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: i64 = name.parse().ok().filter(|id| *id > 0)?;
    Some(match collection {
        "programs" => Target::Program(id),
        "activities" => Target::Activity(id),
        "venues" => Target::Venue(id),
        "organizations" => Target::Organization(id),
        "teams" => Target::Team(id),
        _ => return None,
    })
}

/// `from`, `to` and `alarms`; other parameters (cache busters some clients add) are ignored.
fn params(query: &str) -> Result<Params> {
    let mut params = Params::default();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if !matches!(name.as_ref(), "from" | "to" | "alarms") {
            continue;
        }
        if seen.contains(&name) {
            problems.push(FieldError::new(name.as_ref(), "repeated", "give this parameter once"));
            continue;
        }
        seen.push(name.clone());
        match name.as_ref() {
            "from" => match Bound::parse("from", &value) {
                Ok(at) => params.from = Some(at),
                Err(problem) => problems.push(problem),
            },
            "to" => match Bound::parse("to", &value) {
                Ok(at) => params.to = Some(at),
                Err(problem) => problems.push(problem),
            },
            _ => match alarms(&value) {
                Ok(alarms) => params.alarms = Some(alarms),
                Err(problem) => problems.push(problem),
            },
        }
    }
    if let Err(problem) = Bound::in_order(params.from, params.to) {
        problems.push(problem);
    }
    if problems.is_empty() {
        Ok(params)
    } else {
        Err(Error::Validation(problems))
    }
}

/// `none`, or up to five of `{n}d`, `{n}h`, `{n}m`, from one minute to thirty days.
fn alarms(text: &str) -> std::result::Result<Vec<TimeDelta>, FieldError> {
    let problem = || {
        FieldError::new(
            "alarms",
            "invalid_alarms",
            format!(
                "{text:?} is not `none` or a list of up to {MAX_ALARMS} reminders such as `1d,1h,15m` \
                 (each from 1 minute to 30 days before)"
            ),
        )
    };
    if text == "none" {
        return Ok(Vec::new());
    }
    let mut alarms = Vec::new();
    for part in text.split(',') {
        // The unit is the last character, which need not be ASCII in what a client sends.
        let split = part.char_indices().next_back().map_or(0, |(at, _)| at);
        let (number, unit) = part.split_at(split);
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || number.len() > 6 {
            return Err(problem());
        }
        let n: i64 = number.parse().map_err(|_| problem())?;
        let before = match unit {
            "d" => TimeDelta::days(n),
            "h" => TimeDelta::hours(n),
            "m" => TimeDelta::minutes(n),
            _ => return Err(problem()),
        };
        if before < TimeDelta::minutes(1) || before > TimeDelta::days(30) || alarms.contains(&before) {
            return Err(problem());
        }
        alarms.push(before);
    }
    if alarms.len() > MAX_ALARMS {
        return Err(problem());
    }
    alarms.sort_unstable_by(|a, b| b.cmp(a));
    Ok(alarms)
}

/// Whether the client's copy is current: `If-None-Match` decides when present (weak
/// comparison, either encoding's tag); otherwise `If-Modified-Since`, when it is a valid
/// date not in the future, and not earlier than the feed's last change.
fn not_modified(headers: &HeaderMap, validated: &Validated, now: DateTime<Utc>) -> bool {
    let matches = |tag: &str| {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag == validated.etag || tag == validated.gzip_etag
    };
    let mut if_none_match = headers.get_all(header::IF_NONE_MATCH).iter().peekable();
    if if_none_match.peek().is_some() {
        return if_none_match
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(matches);
    }
    let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| httpdate::parse_http_date(text).ok())
        .map(DateTime::<Utc>::from)
    else {
        return false;
    };
    // HTTP dates have whole seconds.
    let modified = DateTime::<Utc>::from_timestamp(validated.last_modified.timestamp(), 0).unwrap_or(now);
    since <= now && modified <= since
}

/// Whether `Accept-Encoding` allows gzip (`gzip` or `*` with a non-zero quality).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match coding.as_str() {
                "gzip" | "x-gzip" => gzip = Some(quality > 0.0),
                "*" => any = Some(quality > 0.0),
                _ => {}
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// Validators and caching rules, on 200 and 304 alike.
fn common_headers(headers: &mut HeaderMap, validated: &Validated, etag: &str, personal: bool) {
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    let modified = httpdate::fmt_http_date(SystemTime::from(validated.last_modified));
    if let Ok(value) = HeaderValue::from_str(&modified) {
        headers.insert(header::LAST_MODIFIED, value);
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if personal {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    } else {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(SHARED));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_feeds_only_in_their_exact_shape() {
        assert_eq!(target("programs", "12.ics"), Some(Target::Program(12)));
        assert_eq!(target("teams", "3.ics"), Some(Target::Team(3)));
        for (collection, file) in [
            ("programs", "12"),
            ("programs", "+12.ics"),
            ("programs", "0.ics"),
            ("programs", "-1.ics"),
            ("programs", "99999999999999999999.ics"),
            ("programs", ".ics"),
            ("sessions", "1.ics"),
            ("volunteers", "12.ics"),
            ("volunteers", "ZZ.ics"),
        ] {
            assert_eq!(target(collection, file), None, "{collection}/{file}");
        }
        let token = crate::auth::feed_token();
        assert_eq!(
            target("volunteers", &format!("{token}.ics")),
            Some(Target::Volunteer(token))
        );
    }

    #[test]
    fn alarms_parse_sorted_and_bounded() {
        assert_eq!(
            alarms("15m,1d,1h"),
            Ok(vec![TimeDelta::days(1), TimeDelta::hours(1), TimeDelta::minutes(15)])
        );
        assert_eq!(alarms("none"), Ok(Vec::new()));
        for bad in [
            "",
            "1",
            "d",
            "0m",
            "31d",
            "1w",
            "1d,1d",
            "-1h",
            "1h,",
            "1m,2m,3m,4m,5m,6m",
            "1.5h",
            "aaaaaaaaaaaaaaaaaaaaa\u{ec}",
            "1\u{65e5}",
            "\u{5929}",
        ] {
            assert!(alarms(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn window_bounds_are_days_or_instants_in_order() {
        let parsed = params("from=2019-05-01&to=2019-06-01T00:00:00%2B08:00&x=1").unwrap_or_default();
        assert_eq!(
            parsed.from,
            Some(Bound::Day(
                chrono::NaiveDate::from_ymd_opt(2019, 5, 1).unwrap_or_default()
            ))
        );
        assert!(matches!(parsed.to, Some(Bound::Instant(_))));
        for bad in [
            "from=yesterday",
            "to=2019-13-01",
            "from=2019-06-01&to=2019-05-01",
            "from=1900-01-01",
            "alarms=1h&alarms=2h",
        ] {
            let Err(Error::Validation(problems)) = params(bad) else {
                panic!("{bad} was accepted");
            };
            assert!(!problems.is_empty());
        }
    }

    #[test]
    fn gzip_is_chosen_only_when_asked_for() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            accepts_gzip(&headers)
        };
        assert!(!accepts_gzip(&HeaderMap::new()));
        assert!(with("gzip"));
        assert!(with("br, gzip;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!with("*, gzip;q=0"));
    }
}
