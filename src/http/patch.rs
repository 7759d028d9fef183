//! `Patch<T>`: a field of a PATCH body that can be absent (keep), `null` (clear) or a value.

use serde::{Deserialize, Deserializer};
use utoipa::__dev::ComposeSchema;
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::domain::field::FieldError;

/// One field of a JSON merge patch (RFC 7396).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not in the body: keep the current value.
    #[default]
    Absent,
    /// `null`: clear the value.
    Null,
    /// A new value.
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Self::Value(value),
            None => Self::Null,
        })
    }
}

impl<T> Patch<T> {
    /// For a field that may be cleared: the new value, given the current one.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Absent => current,
            Self::Null => None,
            Self::Value(value) => Some(value),
        }
    }

    /// For a field that must keep a value: the new value, or a 422 problem for `null`.
    pub fn apply_required(self, field: &str, current: T) -> Result<T, FieldError> {
        match self {
            Self::Absent => Ok(current),
            Self::Null => Err(FieldError::new(field, "required", "cannot be cleared")),
            Self::Value(value) => Ok(value),
        }
    }

    /// The given value, if any (for fields whose change is checked elsewhere).
    pub fn into_option(self) -> Option<Option<T>> {
        match self {
            Self::Absent => None,
            Self::Null => Some(None),
            Self::Value(value) => Some(Some(value)),
        }
    }
}

// In the schema a patch field is what it carries, or null.
impl<T: ComposeSchema> ComposeSchema for Patch<T> {
    fn compose(generics: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        <Option<T> as ComposeSchema>::compose(generics)
    }
}

impl<T: ComposeSchema> ToSchema for Patch<T> {}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        a: Patch<String>,
        #[serde(default)]
        b: Patch<String>,
        #[serde(default)]
        c: Patch<String>,
    }

    #[test]
    fn absent_null_and_value_are_told_apart() {
        let body: Body = serde_json::from_str(r#"{"b": null, "c": "x"}"#).unwrap();
        assert_eq!(body.a, Patch::Absent);
        assert_eq!(body.b, Patch::Null);
        assert_eq!(body.c, Patch::Value("x".to_owned()));
        assert_eq!(Patch::<i32>::Absent.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Null.apply(Some(1)), None);
        assert_eq!(Patch::Null.apply_required("name", 1).unwrap_err().code, "required");
    }
}
