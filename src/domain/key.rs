//! `Key`: the stable, human-chosen identifier that import files use to refer to records.

use rand::Rng;

use super::field::FieldError;

/// A record key: 1–64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(String);

impl Key {
    /// Longest key.
    pub const MAX: usize = 64;

    /// Parses a key given by a user.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let starts_well = value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if value.len() > Self::MAX {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("must be at most {} characters", Self::MAX),
            ));
        }
        if !starts_well || !value.chars().all(valid_char) {
            return Err(FieldError::new(
                field,
                "invalid_key",
                "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The given key, or a fresh random one with `prefix` when none was given.
    pub fn parse_or_generate(field: &str, value: Option<&str>, prefix: &str) -> Result<Self, FieldError> {
        match value {
            Some(value) => Self::parse(field, value),
            None => Ok(Self::generate(prefix)),
        }
    }

    /// A fresh random key such as `session-5f1c0a9e2b7d4c31`.
    pub fn generate(prefix: &str) -> Self {
        let n: u64 = rand::rng().random();
        Self(format!("{prefix}-{n:016x}"))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_allow_dotted_slugs() {
        assert!(Key::parse("key", "org.lyg-kx_1").is_ok());
    }

    #[test]
    fn keys_refuse_spaces_chinese_and_leading_punctuation() {
        for bad in ["", "a b", "科协", "-a", ".a", &"a".repeat(65)] {
            assert!(Key::parse("key", bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn generated_keys_are_valid_and_distinct() {
        let a = Key::generate("session");
        let b = Key::generate("session");
        assert_ne!(a, b);
        assert!(Key::parse("key", a.as_str()).is_ok());
    }
}
