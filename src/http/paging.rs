//! List pagination as the API shows it: `limit` and `cursor` in, `next_cursor` out, and the
//! next page's address in an RFC 8288 `Link: <…>; rel="next"` header beside it.

use axum::extract::Request;
use axum::http::{HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::field::FieldError;
use crate::store::{Cursor, Page, PageRequest, Search};

/// Rows per page when the client does not say.
pub const DEFAULT_LIMIT: u64 = 100;
/// Most rows per page.
pub const MAX_LIMIT: u64 = 500;

/// Reads `cursor` and `limit`; `fits` says whether a cursor belongs to this list's order.
pub fn page_request(
    cursor: Option<&str>,
    limit: Option<u64>,
    fits: fn(&Cursor) -> bool,
) -> Result<PageRequest, Vec<FieldError>> {
    let mut problems = Vec::new();
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        problems.push(FieldError::new(
            "limit",
            "out_of_range",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let after = match cursor.map(Cursor::decode) {
        None => None,
        Some(Ok(cursor)) if fits(&cursor) => Some(cursor),
        Some(Ok(_)) => {
            problems.push(FieldError::new(
                "cursor",
                "invalid_cursor",
                "belongs to a different list",
            ));
            None
        }
        Some(Err(e)) => {
            problems.push(e);
            None
        }
    };
    if problems.is_empty() {
        Ok(PageRequest { limit, after })
    } else {
        Err(problems)
    }
}

/// Reads `q` (text the name contains, up to 64 characters) and `updated_since` (an instant
/// with its offset).
pub fn search(q: Option<&str>, updated_since: Option<&str>) -> Result<Search, Vec<FieldError>> {
    use crate::domain::field::one;
    use crate::domain::time::TimeInput;
    crate::validate! {
        text = one(crate::domain::text::optional("q", q, 64)),
        updated_since = one(updated_since.map(|t| TimeInput::instant("updated_since", t)).transpose()),
    }
    Ok(Search { text, updated_since })
}

/// Checks that filter ids are positive (no record has another kind of id).
pub fn positive_ids(ids: &[(&str, Option<i64>)]) -> Result<(), Vec<FieldError>> {
    let problems: Vec<FieldError> = ids
        .iter()
        .filter(|(_, id)| id.is_some_and(|id| id < 1))
        .map(|(field, _)| FieldError::new(*field, "out_of_range", "ids are positive integers"))
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOut<T> {
    /// The items of this page.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The cursor of the page after the one answered, for [`link_next`].
#[derive(Clone, Debug)]
struct NextCursor(String);

impl<T: Serialize> IntoResponse for PageOut<T> {
    fn into_response(self) -> Response {
        let next = self.next_cursor.clone();
        page_response(self, next)
    }
}

/// A JSON answer that holds one page of a list, with what [`link_next`] needs to point at the
/// next page: for answers that say more than [`PageOut`] does.
pub fn page_response(body: impl Serialize, next_cursor: Option<String>) -> Response {
    let mut response = axum::Json(body).into_response();
    if let Some(next) = next_cursor {
        response.extensions_mut().insert(NextCursor(next));
    }
    response
}

/// Adds `Link: <…>; rel="next"` to a list answer that has a next page: the request's own
/// address with its `cursor` replaced (a relative reference, so it holds behind a proxy).
pub async fn link_next(request: Request, next: Next) -> Response {
    let uri = request.uri().clone();
    let mut response = next.run(request).await;
    if let Some(NextCursor(cursor)) = response.extensions_mut().remove::<NextCursor>()
        && let Ok(value) = HeaderValue::from_str(&format!("<{}>; rel=\"next\"", next_page(&uri, &cursor)))
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// The address of the next page: the same path and parameters, with `cursor` set.
fn next_page(uri: &Uri, cursor: &str) -> String {
    let kept = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).filter(|(name, _)| name != "cursor");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .append_pair("cursor", cursor)
        .finish();
    format!("{}?{query}", uri.path())
}

impl<T> From<Page<T>> for PageOut<T> {
    fn from(page: Page<T>) -> Self {
        Self {
            data: page.items,
            next_cursor: page.next.map(|c| c.encode()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_the_range_are_refused() {
        let fits: fn(&Cursor) -> bool = |c| matches!(c, Cursor::Id(_));
        assert_eq!(page_request(None, None, fits).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(page_request(None, Some(0), fits).unwrap_err()[0].field, "limit");
        assert_eq!(page_request(None, Some(501), fits).unwrap_err()[0].field, "limit");
    }

    #[test]
    fn the_next_page_keeps_the_filters_and_replaces_the_cursor() {
        let uri: Uri = "/api/v1/sessions?program_id=1&cursor=old&from=2019-05-30T00%3A00%3A00%2B08%3A00"
            .parse()
            .unwrap();
        assert_eq!(
            next_page(&uri, "abc=="),
            "/api/v1/sessions?program_id=1&from=2019-05-30T00%3A00%3A00%2B08%3A00&cursor=abc%3D%3D"
        );
        assert_eq!(
            next_page(&"/api/v1/teams".parse().unwrap(), "x"),
            "/api/v1/teams?cursor=x"
        );
    }

    #[test]
    fn a_cursor_from_another_list_is_refused() {
        let fits: fn(&Cursor) -> bool = |c| matches!(c, Cursor::Id(_));
        let other = Cursor::Ordered(1, 2).encode();
        assert_eq!(
            page_request(Some(&other), None, fits).unwrap_err()[0].code,
            "invalid_cursor"
        );
    }
}
