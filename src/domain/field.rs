//! Field-level validation errors and the `validate!` macro that gathers them.

use serde::Serialize;
use utoipa::ToSchema;

/// One problem with one input field, as it appears in a 422 response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field in the request, e.g. `ends_at` or `contact.email`.
    pub field: String,
    /// Stable machine-readable code, e.g. `required`, `too_long`, `unknown_time_zone`.
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The same problem, reported under `prefix.field` (for nested objects and import records).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

/// The result of checking one or more fields.
pub type Checked<T> = Result<T, Vec<FieldError>>;

/// Turns a single-field check into a [`Checked`] value.
pub fn one<T>(result: Result<T, FieldError>) -> Checked<T> {
    result.map_err(|e| vec![e])
}

/// Evaluates every check, then either binds all the values or returns every problem at once.
///
/// ```text
/// validate! {
///     name = text::required("name", input.name, 200),
///     zone = Zone::parse("time_zone", &input.time_zone),
/// }
/// ```
/// expands to `let (name, zone) = …;` after which both are plain values, or to an early
/// `return Err(Problems(all_problems).into())`.
#[macro_export]
macro_rules! validate {
    ($($name:ident = $check:expr),+ $(,)?) => {
        let ($($name,)+) = match ($($crate::domain::field::into_checked($check),)+) {
            ($(Ok($name),)+) => ($($name,)+),
            ($($name,)+) => {
                let mut problems = Vec::new();
                $( if let Err(e) = $name { problems.extend(e); } )+
                return Err($crate::domain::field::Problems(problems).into());
            }
        };
    };
}

/// Field problems on their way out of `validate!`; they become whatever error the
/// enclosing function returns (a 422 [`crate::error::Error`], or the list itself).
#[derive(Debug)]
pub struct Problems(pub Vec<FieldError>);

impl From<Problems> for Vec<FieldError> {
    fn from(problems: Problems) -> Self {
        problems.0
    }
}

impl From<Problems> for crate::error::Error {
    fn from(problems: Problems) -> Self {
        Self::Validation(problems.0)
    }
}

/// Lets `validate!` accept checks of one field and of many alike.
pub fn into_checked<T, E: IntoProblems>(result: Result<T, E>) -> Checked<T> {
    result.map_err(IntoProblems::into_problems)
}

/// Something that turns into a list of field problems.
pub trait IntoProblems {
    /// The problems.
    fn into_problems(self) -> Vec<FieldError>;
}

impl IntoProblems for FieldError {
    fn into_problems(self) -> Vec<FieldError> {
        vec![self]
    }
}

impl IntoProblems for Vec<FieldError> {
    fn into_problems(self) -> Vec<FieldError> {
        self
    }
}
