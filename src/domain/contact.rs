//! Contact details as clerks type them: mainland mobile numbers, landlines with area code,
//! e-mail addresses. Values are normalized so the same number is always stored the same way.

use super::field::{Checked, FieldError};
use super::text;

/// A contact, each part checked and normalized.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contact {
    /// Person.
    pub name: Option<String>,
    /// Landline with area code.
    pub office_phone: Option<String>,
    /// Mainland mobile.
    pub mobile: Option<String>,
    /// Fax with area code.
    pub fax: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// A contact as typed, every part optional; blanks count as absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContactInput<'a> {
    /// Person.
    pub name: Option<&'a str>,
    /// Landline.
    pub office_phone: Option<&'a str>,
    /// Mobile.
    pub mobile: Option<&'a str>,
    /// Fax.
    pub fax: Option<&'a str>,
    /// E-mail.
    pub email: Option<&'a str>,
}

impl Contact {
    /// Checks every part; problems are reported under `{prefix}.{part}`.
    pub fn parse(prefix: &str, input: ContactInput<'_>) -> Checked<Self> {
        let field = |part: &str| format!("{prefix}.{part}");
        // Blank means absent; anything longer than a real value is refused before parsing.
        let given = |part: &str, value: Option<&str>, max: usize| -> Result<Option<String>, FieldError> {
            match value {
                Some(v) if v.chars().count() > max => Err(FieldError::new(
                    field(part),
                    "too_long",
                    format!("must be at most {max} characters"),
                )),
                Some(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_owned())),
                _ => Ok(None),
            }
        };
        let name = text::optional(&field("name"), input.name, 64);
        let office_phone = given("office_phone", input.office_phone, 40)
            .and_then(|v| v.map(|v| landline(&field("office_phone"), &v)).transpose());
        let mobile =
            given("mobile", input.mobile, 20).and_then(|v| v.map(|v| self::mobile(&field("mobile"), &v)).transpose());
        let fax = given("fax", input.fax, 40).and_then(|v| v.map(|v| landline(&field("fax"), &v)).transpose());
        let email =
            given("email", input.email, 254).and_then(|v| v.map(|v| self::email(&field("email"), &v)).transpose());
        match (name, office_phone, mobile, fax, email) {
            (Ok(name), Ok(office_phone), Ok(mobile), Ok(fax), Ok(email)) => Ok(Self {
                name,
                office_phone,
                mobile,
                fax,
                email,
            }),
            (name, office_phone, mobile, fax, email) => {
                Err([name.err(), office_phone.err(), mobile.err(), fax.err(), email.err()]
                    .into_iter()
                    .flatten()
                    .collect())
            }
        }
    }
}

/// A mainland mobile number, stored as its 11 digits.
pub fn mobile(field: &str, value: &str) -> Result<String, FieldError> {
    let digits = strip_separators(value);
    let digits = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .unwrap_or(&digits);
    let bytes = digits.as_bytes();
    let valid = bytes.len() == 11
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
        && bytes.iter().all(u8::is_ascii_digit);
    if valid {
        Ok(digits.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "invalid_mobile",
            format!("{value:?} is not a mainland mobile number (11 digits starting 13–19)"),
        ))
    }
}

/// A landline (or fax) with its area code, stored as `0518-85803554` or `010-12345678-801`.
pub fn landline(field: &str, value: &str) -> Result<String, FieldError> {
    let invalid = || {
        FieldError::new(
            field,
            "invalid_phone",
            format!("{value:?} is not a landline with area code (for example 0518-85803554)"),
        )
    };
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')'))
        .collect();
    let compact = match compact.strip_prefix("+86") {
        Some(rest) => format!("0{}", rest.trim_start_matches('-')),
        None => compact,
    };
    let parts: Vec<&str> = compact.split('-').collect();
    // "0518-85803554", "051885803554-801", "0518-85803554-801" or "051885803554".
    let (digits, extension) = match parts.as_slice() {
        [whole] => ((*whole).to_owned(), None),
        [area, number] if area.len() <= 4 => (format!("{area}{number}"), None),
        [number, extension] => ((*number).to_owned(), Some(*extension)),
        [area, number, extension] => (format!("{area}{number}"), Some(*extension)),
        _ => return Err(invalid()),
    };
    if !digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    // Area codes 010 and 020–029 have three digits; all others four.
    let area_len = if matches!(digits.as_bytes().get(1), Some(b'1' | b'2')) {
        3
    } else {
        4
    };
    let subscriber_len = digits.len().saturating_sub(area_len);
    if !(7..=8).contains(&subscriber_len) {
        return Err(invalid());
    }
    let mut normalized = format!("{}-{}", &digits[..area_len], &digits[area_len..]);
    if let Some(extension) = extension {
        if extension.is_empty() || extension.len() > 6 || !extension.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        normalized.push('-');
        normalized.push_str(extension);
    }
    Ok(normalized)
}

/// An e-mail address, lower-cased in its domain part.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    let invalid = || FieldError::new(field, "invalid_email", format!("{value:?} is not an e-mail address"));
    let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !local_ok || !domain_ok || value.len() > 254 {
        return Err(invalid());
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// A mobile number with its middle hidden (`138****1234`), for readers who may not see it.
pub fn mask_mobile(mobile: &str) -> String {
    let chars: Vec<char> = mobile.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

fn strip_separators(value: &str) -> String {
    value.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_are_normalized_to_eleven_digits() {
        assert_eq!(mobile("m", "138 0000 1234").unwrap(), "13800001234");
        assert_eq!(mobile("m", "+86 138-0000-1234").unwrap(), "13800001234");
    }

    #[test]
    fn mistyped_mobiles_are_refused() {
        for bad in ["1380000123", "23800001234", "12800001234", "1380000123x", ""] {
            assert_eq!(mobile("m", bad).unwrap_err().code, "invalid_mobile", "{bad}");
        }
    }

    #[test]
    fn landlines_keep_their_area_code() {
        assert_eq!(landline("p", "0518-85803554").unwrap(), "0518-85803554");
        assert_eq!(landline("p", "051885803554").unwrap(), "0518-85803554");
        assert_eq!(landline("p", "010-12345678-801").unwrap(), "010-12345678-801");
        assert_eq!(landline("p", "(025) 8888 7777").unwrap(), "025-88887777");
    }

    #[test]
    fn landlines_without_area_code_are_refused() {
        for bad in ["85803554", "0518-858", "0518-858035541", "abc", "0518-85803554-"] {
            assert_eq!(landline("p", bad).unwrap_err().code, "invalid_phone", "{bad}");
        }
    }

    #[test]
    fn emails_are_checked_and_their_domain_lower_cased() {
        assert_eq!(email("e", "lygkxbgs@126.COM").unwrap(), "lygkxbgs@126.com");
        for bad in [
            "lygkxbgs",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "@c.com",
            "a@-c.com",
            "a..b@c.com",
        ] {
            assert_eq!(email("e", bad).unwrap_err().code, "invalid_email", "{bad}");
        }
    }

    #[test]
    fn masking_keeps_only_the_ends_of_a_mobile() {
        assert_eq!(mask_mobile("13800001234"), "138****1234");
    }
}
