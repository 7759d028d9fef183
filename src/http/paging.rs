//! List pagination as the API shows it: `limit` and `cursor` in, `next_cursor` out.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::field::FieldError;
use crate::store::{Cursor, Page, PageRequest};

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
    fn a_cursor_from_another_list_is_refused() {
        let fits: fn(&Cursor) -> bool = |c| matches!(c, Cursor::Id(_));
        let other = Cursor::Ordered(1, 2).encode();
        assert_eq!(
            page_request(Some(&other), None, fits).unwrap_err()[0].code,
            "invalid_cursor"
        );
    }
}
