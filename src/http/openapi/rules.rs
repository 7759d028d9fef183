//! What validation demands of inputs, written into the document: patterns, lengths, ranges.

use std::collections::BTreeMap;

use utoipa::Modify;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayItems, KnownFormat, Object, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};

use super::operations_mut;

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
    /// A day: any month's 01 to 31 (the service refuses days a month lacks, such as 31 April,
    /// as `format: date` does). Years 1900–2199, as the service takes them.
    pub const DATE: &str = "^(19|2[01])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
    /// An instant with offset; seconds may be left out (`format: date-time` asks for them).
    pub const INSTANT: &str = "^(19|2[01])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])$";
    /// A local wall time without offset, read in the record's zone.
    pub const LOCAL_TIME: &str = "^(19|2[01])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?$";
    /// An IANA time zone name (the service checks it against the tz database).
    pub const TIME_ZONE: &str = "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$";
    /// One or more ETags of this API, or `*`.
    pub const IF_MATCH: &str = "^(\\*|(W/)?\"[0-9]{1,9}\"( *, *(W/)?\"[0-9]{1,9}\")*)$";
    /// An http or https address.
    pub const WEB: &str = "^https?://[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?){0,4}(:[1-9][0-9]{0,3})?(/[!#-~]{0,200})?$";
}

/// Values the document describes by form rather than by one pattern.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// An IANA zone name.
    TimeZone,
    /// An instant with offset, or a local wall time read in the record's zone.
    Time,
    /// An instant with offset.
    Instant,
    /// A feed window's bound: a day in the feed's zone, or an instant.
    DayOrInstant,
}

/// What validation demands of one input property, stated in the document.
#[derive(Clone, Copy, Default)]
struct Rule {
    pattern: Option<&'static str>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    form: Option<Form>,
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
            form: None,
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
            form: None,
            items: None,
        }
    }

    const fn form(form: Form) -> Self {
        Self {
            pattern: None,
            min_length: None,
            max_length: None,
            minimum: None,
            maximum: None,
            form: Some(form),
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
            (_, "starts_at" | "ends_at" | "plan_deadline" | "until") => Self::form(Form::Time),
            ("feed", "from" | "to") => Self::form(Form::DayOrInstant),
            ("", "from" | "to") => Self::form(Form::Instant),
            (_, "video_url") => Self::text(WEB, 10, 2048),
            (_, "time_zone") => Self::form(Form::TimeZone),
            (_, "service_kinds") => {
                const LABEL: Rule = Rule::text(pattern::LINE, 1, 32);
                Self {
                    items: Some((&LABEL, 16)),
                    ..Self::default()
                }
            }
            ("" | "feed", "If-Match") => Self::text(IF_MATCH, 1, 200),
            (_, "capacity") => Self::range(0.0, 1_000_000.0),
            (_, "latitude") => Self::range(-90.0, 90.0),
            (_, "longitude") => Self::range(-180.0, 180.0),
            ("", "limit") => Self::range(1.0, 500.0),
            (_, p) if p.ends_with("_id") => id,
            _ => return None,
        })
    }

    fn apply(self, schema: &mut RefOr<Schema>) {
        match schema {
            RefOr::T(Schema::Object(object)) => {
                if matches!(object.schema_type, SchemaType::Type(Type::Null)) {
                    return;
                }
                if let Some(form) = self.form {
                    if let Some(described) = form.describe(object) {
                        *schema = described;
                    }
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
                    if let ArrayItems::RefOrSchema(item) = &mut array.items {
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

impl Form {
    /// Describes a string property in this form: in place for a zone or an instant, as a
    /// `oneOf` of the accepted forms (and `null` where the property may be null) otherwise.
    fn describe(self, object: &mut Object) -> Option<RefOr<Schema>> {
        let text = |pattern: &str, format: Option<KnownFormat>, description: &str| {
            let day = format == Some(KnownFormat::Date);
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(format.map(SchemaFormat::KnownFormat))
                .pattern(Some(pattern))
                .min_length(Some(if day { 10 } else { 16 }))
                .max_length(Some(if day { 10 } else { 40 }))
                .description(Some(description))
                .build()
        };
        let instant = || {
            text(
                pattern::INSTANT,
                Some(KnownFormat::DateTime),
                "An instant with offset (RFC 3339), e.g. 2019-05-30T09:00:00+08:00.",
            )
        };
        let (example, alternatives) = match self {
            Self::TimeZone => {
                object.enum_values = None;
                object.pattern = Some(pattern::TIME_ZONE.to_owned());
                object.min_length = Some(1);
                object.max_length = Some(64);
                object.examples = vec!["Asia/Shanghai".into()];
                if object.description.is_none() {
                    object.description = Some("An IANA time zone name, e.g. Asia/Shanghai.".to_owned());
                }
                return None;
            }
            Self::Instant => {
                object.format = Some(SchemaFormat::KnownFormat(KnownFormat::DateTime));
                object.pattern = Some(pattern::INSTANT.to_owned());
                object.min_length = Some(16);
                object.max_length = Some(40);
                object.examples = vec!["2019-05-30T00:00:00+08:00".into()];
                return None;
            }
            Self::Time => (
                "2019-05-30T09:00:00+08:00",
                [
                    instant(),
                    text(
                        pattern::LOCAL_TIME,
                        None,
                        "A local wall time without offset, read in the record's zone, e.g. 2019-05-30T09:00.",
                    ),
                ],
            ),
            Self::DayOrInstant => (
                "2019-05-30",
                [
                    text(
                        pattern::DATE,
                        Some(KnownFormat::Date),
                        "A day in the feed's zone, e.g. 2019-05-30.",
                    ),
                    instant(),
                ],
            ),
        };
        let mut one_of = OneOfBuilder::new()
            .description(object.description.take())
            .examples([example]);
        for alternative in alternatives {
            one_of = one_of.item(alternative);
        }
        if object.schema_type_is_nullable() {
            one_of = one_of.item(ObjectBuilder::new().schema_type(Type::Null));
        }
        Some(RefOr::T(Schema::OneOf(one_of.build())))
    }
}

trait Nullable {
    fn schema_type_is_nullable(&self) -> bool;
}

impl Nullable for Object {
    fn schema_type_is_nullable(&self) -> bool {
        matches!(&self.schema_type, SchemaType::Array(types) if types.contains(&Type::Null))
    }
}

/// Inlines wrapper references in `schema` and applies the rules of `schema_name` to the
/// properties of every object in it (nested objects such as a contact included).
fn constrain(schema_name: &str, schema: &mut RefOr<Schema>, wrappers: &BTreeMap<String, RefOr<Schema>>) {
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
        for (path, item) in openapi.paths.paths.iter_mut() {
            // Feed windows take days too; they are told apart by their path.
            let context = if path.starts_with("/feeds/") { "feed" } else { "" };
            for operation in operations_mut(item) {
                for parameter in operation.parameters.iter_mut().flatten() {
                    let in_query = matches!(
                        parameter.parameter_in,
                        utoipa::openapi::path::ParameterIn::Query | utoipa::openapi::path::ParameterIn::Header
                    );
                    let rule = if in_query {
                        Rule::of(context, &parameter.name)
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
