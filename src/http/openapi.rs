//! The OpenAPI 3.1 document: its frame here, its paths and schemas from the handlers.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::error::PROBLEM_JSON;

/// The document's frame.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "sciday",
        description = "Scheduling service for National Science and Technology Workers' Day programs: \
                       organizations, venues, programs, activities and sessions. Errors are \
                       application/problem+json (RFC 9457). Writes need a bearer token; updates \
                       need If-Match with the resource's ETag.",
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

fn responses(statuses: &[StatusCode]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|status| {
            let description = match status.as_u16() {
                400 => "Malformed request: not JSON, not UTF-8, or an unreadable header",
                401 => "Missing, invalid or revoked bearer token",
                403 => "The token does not allow this",
                404 => "No such resource",
                409 => "Conflicts with the stored data (see `code`)",
                412 => "If-Match names a version that is no longer current",
                413 => "Request body too large",
                415 => "The body is not JSON",
                422 => "Invalid input; `errors` lists every field problem",
                428 => "If-Match is required",
                503 => "The database is not reachable",
                _ => "Error",
            };
            (status.as_u16().to_string(), problem(description))
        })
        .collect()
}

macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident: $($status:ident),+) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                responses(&[$(StatusCode::$status),+])
            }
        }
    };
}

error_set!(
    /// Errors of list endpoints.
    ListErrors: UNAUTHORIZED, UNPROCESSABLE_ENTITY
);
error_set!(
    /// Errors of calendar feeds.
    FeedErrors: NOT_FOUND, UNPROCESSABLE_ENTITY
);
error_set!(
    /// Errors of endpoints that renew a secret.
    SecretErrors: UNAUTHORIZED, FORBIDDEN, NOT_FOUND
);
error_set!(
    /// Errors of read endpoints.
    ReadErrors: UNAUTHORIZED, NOT_FOUND
);
error_set!(
    /// Errors of create endpoints.
    CreateErrors: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, CONFLICT, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE,
        UNPROCESSABLE_ENTITY
);
error_set!(
    /// Errors of update endpoints.
    UpdateErrors: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, PRECONDITION_FAILED,
        PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, UNPROCESSABLE_ENTITY, PRECONDITION_REQUIRED
);
error_set!(
    /// Errors of delete endpoints.
    DeleteErrors: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, PRECONDITION_FAILED
);
error_set!(
    /// Errors of endpoints that act on a resource without a body.
    ActionErrors: UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT
);
error_set!(
    /// Errors of the readiness probe.
    ReadyErrors: SERVICE_UNAVAILABLE
);

/// Every operation of a path, for modifiers that treat them all alike.
fn operations_mut(
    item: &mut utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.patch.as_mut(),
        item.delete.as_mut(),
        item.put.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// States in the document the answers every operation of a kind can give, whichever handler
/// it is: the gate's 401 where a token is needed, the path extractor's 404 where the path
/// names a record, the query extractor's 422 where there are query parameters, and the body
/// extractor's 400, 413, 415 and 422 where there is a body. Header parameters are text or
/// absent, never `null`.
pub struct UniformAnswers;

impl Modify for UniformAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let mut statuses = Vec::new();
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    statuses.push(StatusCode::UNAUTHORIZED);
                }
                if parameters.iter().any(|p| matches!(p.parameter_in, ParameterIn::Path)) {
                    statuses.push(StatusCode::NOT_FOUND);
                }
                if parameters.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query)) {
                    statuses.push(StatusCode::UNPROCESSABLE_ENTITY);
                }
                if operation.request_body.is_some() {
                    statuses.extend([
                        StatusCode::BAD_REQUEST,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    ]);
                }
                for (code, response) in responses(&statuses) {
                    operation.responses.responses.entry(code).or_insert(response);
                }
                for parameter in operation.parameters.iter_mut().flatten() {
                    if matches!(parameter.parameter_in, ParameterIn::Header)
                        && let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(object))) =
                            parameter.schema.as_mut()
                    {
                        object.schema_type =
                            utoipa::openapi::schema::SchemaType::Type(utoipa::openapi::schema::Type::String);
                    }
                }
            }
        }
    }
}

/// Patterns that state in the document what validation accepts.
pub mod pattern {
    /// A record key.
    pub const KEY: &str = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
    /// One line of text with at least one visible character.
    pub const LINE: &str =
        "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";
    /// One line of text, possibly blank (blank means absent).
    pub const OPTIONAL_LINE: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";
    /// Several lines of text.
    pub const LINES: &str = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$";
    /// A landline or fax with area code, or blank.
    pub const PHONE: &str = "^(\\s*|0[12][0-9]-[0-9]{7,8}(-[0-9]{1,6})?|0[3-9][0-9]{2}-[0-9]{7,8}(-[0-9]{1,6})?)$";
    /// A mainland mobile number, or blank.
    pub const MOBILE: &str = "^(\\s*|1[3-9][0-9]{9})$";
    /// An e-mail address, or blank.
    pub const EMAIL: &str = "^(\\s*|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,15}){0,2}@[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?){1,3})$";
    /// An instant with offset, or a local wall time (read in the record's zone). Every month
    /// has its 28 days, all but February its 29th and 30th, the long months their 31st;
    /// 29 February is allowed here and refused by the service outside leap years.
    pub const TIME: &str = "^(19[0-9]{2}|2[01][0-9]{2})-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?$";
    /// An instant with offset (the days as in [`TIME`]).
    pub const INSTANT: &str = "^(19[0-9]{2}|2[01][0-9]{2})-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])$";
    /// One or more ETags of this API, or `*`.
    pub const IF_MATCH: &str = "^(\\*|(W/)?\"[0-9]{1,9}\"( *, *(W/)?\"[0-9]{1,9}\")*)$";
    /// An http or https address.
    pub const WEB: &str = "^https?://[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?){0,4}(:[1-9][0-9]{0,3})?(/[!#-~]{0,200})?$";
}

/// What validation demands of one input property, stated in the document.
#[derive(Clone, Copy, Default)]
struct Rule {
    pattern: Option<&'static str>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    time_zone: bool,
    /// For lists: the rule of each item and the most items.
    items: Option<(&'static Rule, usize)>,
}

impl Rule {
    const fn text(pattern: &'static str, min_length: usize, max_length: usize) -> Self {
        Self {
            pattern: Some(pattern),
            min_length: if min_length > 0 { Some(min_length) } else { None },
            max_length: Some(max_length),
            minimum: None,
            maximum: None,
            time_zone: false,
            items: None,
        }
    }

    const fn range(minimum: f64, maximum: f64) -> Self {
        Self {
            pattern: None,
            min_length: None,
            max_length: None,
            minimum: Some(minimum),
            maximum: Some(maximum),
            time_zone: false,
            items: None,
        }
    }

    /// The rule for a property of a request body (`schema`) or a query parameter (`schema` "").
    fn of(schema: &str, property: &str) -> Option<Self> {
        use crate::domain::text::{DESCRIPTION_MAX, NAME_MAX};
        use pattern::*;
        let id = Self::range(1.0, i64::MAX as f64);
        Some(match (schema, property) {
            ("ContactIn" | "ContactPatch", "name") => Self::text(OPTIONAL_LINE, 0, 64),
            ("TokenIn", "name") => Self::text(LINE, 1, 100),
            ("SessionIn" | "SessionPatch", "title") => Self::text(OPTIONAL_LINE, 0, NAME_MAX),
            (_, "name" | "title") => Self::text(LINE, 1, NAME_MAX),
            (_, "key") => Self::text(KEY, 1, 64),
            (_, "short_name") => Self::text(OPTIONAL_LINE, 0, 64),
            (_, "theme" | "address") => Self::text(OPTIONAL_LINE, 0, 500),
            (_, "description") => Self::text(LINES, 0, DESCRIPTION_MAX),
            (_, "office_phone" | "fax") => Self::text(PHONE, 0, 40),
            (_, "mobile") => Self::text(MOBILE, 0, 20),
            (_, "email") => Self::text(EMAIL, 0, 254),
            (_, "starts_at" | "ends_at" | "plan_deadline") => Self::text(TIME, 16, 40),
            ("", "from" | "to") => Self::text(INSTANT, 16, 40),
            (_, "video_url") => Self::text(WEB, 10, 2048),
            (_, "time_zone") => Self {
                time_zone: true,
                ..Self::default()
            },
            (_, "service_kinds") => {
                const LABEL: Rule = Rule::text(pattern::LINE, 1, 32);
                Self {
                    items: Some((&LABEL, 16)),
                    ..Self::default()
                }
            }
            ("", "If-Match") => Self::text(IF_MATCH, 1, 200),
            (_, "capacity") => Self::range(0.0, 1_000_000.0),
            (_, "latitude") => Self::range(-90.0, 90.0),
            (_, "longitude") => Self::range(-180.0, 180.0),
            ("", "limit") => Self::range(1.0, 500.0),
            (_, p) if p.ends_with("_id") => id,
            _ => return None,
        })
    }

    fn apply(self, schema: &mut RefOr<utoipa::openapi::schema::Schema>) {
        use utoipa::openapi::schema::Schema;
        match schema {
            RefOr::T(Schema::Object(object)) => {
                use utoipa::openapi::schema::{SchemaType, Type};
                if matches!(object.schema_type, SchemaType::Type(Type::Null)) {
                    return;
                }
                if self.time_zone {
                    object.enum_values = Some(
                        chrono_tz::TZ_VARIANTS
                            .iter()
                            .map(|tz| serde_json::Value::from(tz.name()))
                            .chain(object.schema_type_is_nullable().then_some(serde_json::Value::Null))
                            .collect(),
                    );
                    return;
                }
                object.pattern = self.pattern.map(str::to_owned).or(object.pattern.take());
                object.min_length = self.min_length.or(object.min_length);
                object.max_length = self.max_length.or(object.max_length);
                object.minimum = self.minimum.map(Into::into).or(object.minimum.take());
                object.maximum = self.maximum.map(Into::into).or(object.maximum.take());
            }
            RefOr::T(Schema::Array(array)) => {
                if let Some((item_rule, max_items)) = self.items {
                    array.max_items = Some(max_items);
                    if let utoipa::openapi::schema::ArrayItems::RefOrSchema(item) = &mut array.items {
                        item_rule.apply(item);
                    }
                }
            }
            RefOr::T(Schema::OneOf(one_of)) => one_of.items.iter_mut().for_each(|item| self.apply(item)),
            RefOr::T(Schema::AnyOf(any_of)) => any_of.items.iter_mut().for_each(|item| self.apply(item)),
            _ => {}
        }
    }
}

trait Nullable {
    fn schema_type_is_nullable(&self) -> bool;
}

impl Nullable for utoipa::openapi::schema::Object {
    fn schema_type_is_nullable(&self) -> bool {
        use utoipa::openapi::schema::{SchemaType, Type};
        matches!(&self.schema_type, SchemaType::Array(types) if types.contains(&Type::Null))
    }
}

/// Inlines wrapper references in `schema` and applies the rules of `schema_name` to the
/// properties of every object in it (nested objects such as a contact included).
fn constrain(
    schema_name: &str,
    schema: &mut RefOr<utoipa::openapi::schema::Schema>,
    wrappers: &BTreeMap<String, RefOr<utoipa::openapi::schema::Schema>>,
) {
    use utoipa::openapi::schema::Schema;
    if let RefOr::Ref(reference) = schema
        && let Some(inlined) = wrappers.get(&reference.ref_location)
    {
        *schema = inlined.clone();
    }
    match schema {
        RefOr::T(Schema::Object(object)) => {
            for (property, property_schema) in object.properties.iter_mut() {
                // Objects inside a property (the contact of an organization) follow the contact's rules.
                constrain(
                    if property == "contact" { "ContactIn" } else { "" },
                    property_schema,
                    wrappers,
                );
                if let Some(rule) = Rule::of(schema_name, property).filter(|_| !schema_name.is_empty()) {
                    rule.apply(property_schema);
                }
            }
        }
        RefOr::T(Schema::OneOf(one_of)) => one_of
            .items
            .iter_mut()
            .for_each(|item| constrain(schema_name, item, wrappers)),
        _ => {}
    }
}

/// Writes the validation rules of request bodies and query parameters into the document, so
/// that what the document calls valid is what the service accepts.
pub struct InputRules;

impl Modify for InputRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::Schema;
        if let Some(components) = openapi.components.as_mut() {
            // `Patch<T>` and `Change<T>` wrappers are inlined where they are used, so each
            // property can carry its own rule.
            let is_wrapper = |name: &str| name.starts_with("Patch_") || name.starts_with("Change_");
            let wrappers: BTreeMap<String, RefOr<Schema>> = components
                .schemas
                .iter()
                .filter(|(name, _)| is_wrapper(name))
                .map(|(name, schema)| (format!("#/components/schemas/{name}"), schema.clone()))
                .collect();
            components.schemas.retain(|name, _| !is_wrapper(name));
            for (name, schema) in components.schemas.iter_mut() {
                if name.ends_with("In") || name.ends_with("Patch") {
                    constrain(name, schema, &wrappers);
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                for parameter in operation.parameters.iter_mut().flatten() {
                    let in_query = matches!(
                        parameter.parameter_in,
                        utoipa::openapi::path::ParameterIn::Query | utoipa::openapi::path::ParameterIn::Header
                    );
                    let rule = if in_query {
                        Rule::of("", &parameter.name)
                    } else if parameter.name == "id" {
                        Some(Rule::range(1.0, i64::MAX as f64))
                    } else {
                        None
                    };
                    if let (Some(rule), Some(schema)) = (rule, parameter.schema.as_mut()) {
                        rule.apply(schema);
                    }
                }
            }
        }
    }
}
