//! Web addresses given by users (video links).

use url::Url;

use super::field::FieldError;

/// Longest accepted address.
pub const URL_MAX: usize = 2048;

/// `value` trimmed, unless it is longer than [`URL_MAX`].
pub fn within_limit<'a>(field: &str, value: &'a str) -> Result<&'a str, FieldError> {
    let value = value.trim();
    if value.len() > URL_MAX {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {URL_MAX} characters"),
        ));
    }
    Ok(value)
}

/// An absolute `http` or `https` address with a host.
pub fn http_url(field: &str, value: &str) -> Result<String, FieldError> {
    let value = within_limit(field, value)?;
    let url = Url::parse(value)
        .map_err(|e| FieldError::new(field, "invalid_url", format!("{value:?} is not a web address: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(FieldError::new(
            field,
            "invalid_url",
            "must be an http or https address",
        ));
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_web_addresses_are_accepted() {
        assert!(http_url("u", "https://meeting.example.cn/j/123").is_ok());
        for bad in ["meeting.example.cn", "javascript:alert(1)", "ftp://x.cn/", "https://"] {
            assert_eq!(http_url("u", bad).unwrap_err().code, "invalid_url", "{bad}");
        }
    }
}
