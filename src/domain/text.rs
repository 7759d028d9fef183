//! Free text from users: trimmed, bounded, free of control characters.

use super::field::FieldError;

/// Longest title or name, in characters.
pub const NAME_MAX: usize = 200;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 20_000;

/// A required single-line text of at most `max` characters, trimmed.
pub fn required(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let text = clean(field, value, max, false)?;
    if text.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    Ok(text)
}

/// An optional single-line text; blank counts as absent.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(value) = value else { return Ok(None) };
    let text = clean(field, value, max, false)?;
    Ok((!text.is_empty()).then_some(text))
}

/// An optional multi-line text; line breaks are normalized to `\n`, blank counts as absent.
pub fn optional_multiline(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(value) = value else { return Ok(None) };
    let text = clean(field, value, max, true)?;
    Ok((!text.is_empty()).then_some(text))
}

/// Whether `c` changes the direction in which the text around it is shown: with these, a
/// venue or volunteer name can read backwards in chat groups and calendars (Trojan Source).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters no text field keeps: C0 and C1 controls, bidirectional controls, and the
/// Unicode line and paragraph separators (a line break some clients honour and others hide).
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

fn clean(field: &str, value: &str, max: usize, multiline: bool) -> Result<String, FieldError> {
    let normalized = if multiline {
        value.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        value.to_owned()
    };
    let text = normalized.trim();
    let bad = text
        .chars()
        .find(|c| is_unsafe(*c) && !(multiline && (*c == '\n' || *c == '\t')));
    if let Some(c) = bad {
        let what = if is_bidi_control(c) {
            "the bidirectional control"
        } else {
            "the control character"
        };
        return Err(FieldError::new(
            field,
            "control_character",
            format!("must not contain {what} U+{:04X}", u32::from(c)),
        ));
    }
    let length = text.chars().count();
    if length > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {max} characters (got {length})"),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_is_trimmed_and_must_not_be_blank() {
        assert_eq!(required("name", "  连云港市科协 ", 10).unwrap(), "连云港市科协");
        assert_eq!(required("name", "   ", 10).unwrap_err().code, "required");
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert!(required("name", "科技工作者日", 6).is_ok());
        let err = required("name", "科技工作者日!", 6).unwrap_err();
        assert_eq!(err.code, "too_long");
        assert!(err.message.contains("got 7"));
    }

    #[test]
    fn control_characters_are_refused_on_single_lines() {
        assert_eq!(required("name", "a\nb", 10).unwrap_err().code, "control_character");
        assert_eq!(required("name", "a\u{0}b", 10).unwrap_err().code, "control_character");
    }

    #[test]
    fn bidirectional_controls_are_refused_everywhere() {
        for c in [
            '\u{202E}', '\u{202D}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}', '\u{2028}',
        ] {
            let name = format!("科技馆{c}库书图");
            let err = required("name", &name, 50).unwrap_err();
            assert_eq!((err.field.as_str(), err.code), ("name", "control_character"), "{c:?}");
            assert!(
                err.message.contains(&format!("U+{:04X}", u32::from(c))),
                "{}",
                err.message
            );
            assert!(optional_multiline("d", Some(&name), 50).is_err(), "{c:?}");
        }
        // Joiners that emoji and some scripts need are kept.
        assert!(required("name", "科普👩\u{200D}🔬志愿者", 50).is_ok());
    }

    #[test]
    fn multiline_text_normalizes_carriage_returns() {
        let text = optional_multiline("d", Some("一\r\n二\r三"), 100).unwrap();
        assert_eq!(text.as_deref(), Some("一\n二\n三"));
        assert_eq!(optional_multiline("d", Some(" \r\n "), 100).unwrap(), None);
    }
}

/// A short list of short labels (service kinds, tags): each trimmed and non-empty, duplicates
/// dropped, order kept.
pub fn labels(field: &str, values: &[String], max_items: usize, max_len: usize) -> Result<Vec<String>, FieldError> {
    if values.len() > max_items {
        return Err(FieldError::new(
            field,
            "too_many",
            format!("at most {max_items} entries"),
        ));
    }
    let mut labels: Vec<String> = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let label = required(&format!("{field}[{i}]"), value, max_len)?;
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    Ok(labels)
}

/// A count with thousands separated by commas, as reports print counts: 400,000.
pub fn thousands(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod count_tests {
    use super::thousands;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(450_564), "450,564");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_deduplicated_and_bounded() {
        let given = vec![" 科学普及".to_owned(), "智库咨询".to_owned(), "科学普及".to_owned()];
        assert_eq!(labels("k", &given, 5, 10).unwrap(), vec!["科学普及", "智库咨询"]);
        assert_eq!(labels("k", &given, 2, 10).unwrap_err().code, "too_many");
        let blank = vec!["ok".to_owned(), " ".to_owned()];
        assert_eq!(labels("k", &blank, 5, 10).unwrap_err().field, "k[1]");
    }
}
