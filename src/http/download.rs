//! Files the API hands out: CSV that spreadsheet programs open with Chinese text intact, and
//! uploaded documents under the name they were given.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Error, Result};

/// `attachment; filename="ascii"; filename*=UTF-8''…`: the ASCII name for old clients and the
/// real one (Chinese, say) for the rest.
pub fn disposition(ascii_name: &str, name: &str) -> String {
    format!(
        "attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{}",
        utf8_percent_encode(name, NON_ALPHANUMERIC)
    )
}

/// A CSV download: UTF-8 with a byte-order mark, so Excel reads the text as UTF-8. It is
/// saved as `name`, or as `ascii_name` by clients that do not read RFC 5987 names.
pub fn csv_file(
    ascii_name: &str,
    name: &str,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<Response> {
    let to_internal = |e: csv::Error| Error::Internal(e.into());
    let mut writer = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    writer.write_record(header).map_err(to_internal)?;
    for row in rows {
        writer.write_record(row).map_err(to_internal)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition(ascii_name, name)).map_err(|e| Error::Internal(e.into()))?,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Text for a spreadsheet cell that a spreadsheet program will not run as a formula: a cell
/// typed by a submitter that starts with `=`, `+`, `-`, `@` or a tab is shown with a leading
/// apostrophe.
pub fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_look_like_formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("0518-85803554"), "0518-85803554");
        assert_eq!(cell("科普进社区"), "科普进社区");
    }

    #[test]
    fn the_real_name_travels_percent_encoded() {
        assert_eq!(
            disposition("plan-3.pdf", "方案.pdf"),
            "attachment; filename=\"plan-3.pdf\"; filename*=UTF-8''%E6%96%B9%E6%A1%88%2Epdf"
        );
    }
}
