//! Keyset pagination: an opaque cursor holds the sort key of the last row a page showed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::domain::field::FieldError;

/// Where the previous page ended, in the list's own order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// Lists in id order.
    Id(i64),
    /// Lists in (display order, id) order.
    Ordered(i32, i64),
    /// Lists in (start, id) order.
    Timed(DateTime<Utc>, i64),
}

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        let plain = match self {
            Self::Id(id) => format!("i:{id}"),
            Self::Ordered(order, id) => format!("o:{order}:{id}"),
            Self::Timed(at, id) => format!("t:{}:{id}", at.timestamp_micros()),
        };
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// Reads a cursor a client sent back.
    pub fn decode(text: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("cursor", "invalid_cursor", "is not a cursor this list handed out");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let plain = String::from_utf8(bytes).map_err(|_| invalid())?;
        let parts: Vec<&str> = plain.split(':').collect();
        let number = |s: &str| s.parse::<i64>().map_err(|_| invalid());
        match parts.as_slice() {
            ["i", id] => Ok(Self::Id(number(id)?)),
            ["o", order, id] => Ok(Self::Ordered(order.parse().map_err(|_| invalid())?, number(id)?)),
            ["t", micros, id] => Ok(Self::Timed(
                DateTime::from_timestamp_micros(number(micros)?).ok_or_else(invalid)?,
                number(id)?,
            )),
            _ => Err(invalid()),
        }
    }
}

/// One page's worth of a list request.
#[derive(Clone, Debug)]
pub struct PageRequest {
    /// At most this many rows.
    pub limit: u64,
    /// Rows after this position.
    pub after: Option<Cursor>,
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only proves there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u64, cursor_of: impl Fn(&T) -> Cursor) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(cursor_of) } else { None };
        Self { items: rows, next }
    }

    /// The same page with each row converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let at = DateTime::from_timestamp(1_559_001_600, 0).unwrap();
        for cursor in [Cursor::Id(42), Cursor::Ordered(-3, 7), Cursor::Timed(at, 9)] {
            assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }
    }

    #[test]
    fn forged_cursors_are_refused() {
        for bad in ["", "!!", "aTp4", &URL_SAFE_NO_PAD.encode("t:abc:1")] {
            assert_eq!(Cursor::decode(bad).unwrap_err().code, "invalid_cursor", "{bad}");
        }
    }

    #[test]
    fn a_page_knows_whether_more_rows_follow() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| Cursor::Id(*n));
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next, Some(Cursor::Id(2)));
        let last = Page::from_rows(vec![1, 2], 2, |n| Cursor::Id(*n));
        assert_eq!(last.next, None);
    }
}
