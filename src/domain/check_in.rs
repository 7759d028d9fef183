//! Check-in codes: what a volunteer's page shows as a QR code (and as text) for the team
//! leader to scan or type: `{assignment id}-{six digits}`. The digits come from the
//! volunteer's secret page token, so only their own page can show the right code, and a new
//! page token gives new codes.

use sha2::{Digest as _, Sha256};

/// The code of an assignment on the page with `page_token`.
pub fn code(page_token: &str, assignment_id: i64) -> String {
    format!("{assignment_id}-{}", digits(page_token, assignment_id))
}

fn digits(page_token: &str, assignment_id: i64) -> String {
    let digest = Sha256::digest(format!("sciday check-in {assignment_id} {page_token}").as_bytes());
    let number = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 1_000_000;
    format!("{number:06}")
}

/// A code as scanned or typed: the assignment it names and its digits. Spaces around it and
/// a full-width hyphen (from a Chinese keyboard) are forgiven.
pub fn parse(text: &str) -> Option<(i64, String)> {
    let text = text.trim().replace(['－', '—', '–', ' '], "-");
    let (id, digits) = text.split_once('-')?;
    let id = id.parse::<i64>().ok().filter(|id| *id > 0)?;
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| (id, digits.to_owned()))
}

/// Whether `digits` are the right ones for the assignment on the page with `page_token`.
pub fn matches(page_token: &str, assignment_id: i64, digits: &str) -> bool {
    let expected = self::digits(page_token, assignment_id);
    // Compared in full whatever differs first.
    expected
        .bytes()
        .zip(digits.bytes())
        .fold(expected.len() == digits.len(), |same, (a, b)| same & (a == b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_names_its_assignment_and_only_its_page_makes_it() {
        let code = code("0123456789abcdef0123456789abcdef", 42);
        let (id, digits) = parse(&code).unwrap();
        assert_eq!(id, 42);
        assert!(matches("0123456789abcdef0123456789abcdef", 42, &digits));
        assert!(!matches("fedcba9876543210fedcba9876543210", 42, &digits));
        assert!(!matches("0123456789abcdef0123456789abcdef", 43, &digits));
    }

    #[test]
    fn typed_codes_are_read_kindly_and_strictly() {
        assert_eq!(parse(" 7－123456 "), Some((7, "123456".to_owned())));
        assert_eq!(parse("7-12345"), None);
        assert_eq!(parse("x-123456"), None);
        assert_eq!(parse("0-123456"), None);
        assert_eq!(parse("7123456"), None);
    }
}
