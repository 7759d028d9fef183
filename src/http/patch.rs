//! Fields of PATCH bodies: [`Patch<T>`] can be absent (keep), `null` (clear) or a value;
//! [`Change<T>`] belongs to fields that must keep a value, so it is absent or a value.

use serde::{Deserialize, Deserializer};
use utoipa::__dev::ComposeSchema;
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

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

    /// Whether the field was left out.
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
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

/// A field of a JSON merge patch that cannot be cleared: absent (keep) or a new value.
/// `null` is refused like any other value of the wrong type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Change<T> {
    /// Not in the body: keep the current value.
    #[default]
    Keep,
    /// A new value.
    To(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Change<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self::To)
    }
}

impl<T> Change<T> {
    /// The new value, or the current one.
    pub fn apply(self, current: T) -> T {
        match self {
            Self::Keep => current,
            Self::To(value) => value,
        }
    }

    /// The new value, if one was given.
    pub fn into_option(self) -> Option<T> {
        match self {
            Self::Keep => None,
            Self::To(value) => Some(value),
        }
    }
}

// In the schema a change field is just what it carries.
impl<T: ComposeSchema> ComposeSchema for Change<T> {
    fn compose(generics: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        match generics.into_iter().next() {
            Some(schema) => schema,
            None => T::compose(Vec::new()),
        }
    }
}

impl<T: ComposeSchema> ToSchema for Change<T> {}

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
    }

    #[derive(Deserialize)]
    struct Required {
        #[serde(default)]
        name: Change<String>,
    }

    #[test]
    fn a_change_is_absent_or_a_value_but_never_null() {
        let kept: Required = serde_json::from_str("{}").unwrap();
        assert_eq!(kept.name.apply("old".into()), "old");
        let changed: Required = serde_json::from_str(r#"{"name": "new"}"#).unwrap();
        assert_eq!(changed.name.apply("old".into()), "new");
        assert!(serde_json::from_str::<Required>(r#"{"name": null}"#).is_err());
    }
}
