//! Extractors that turn every kind of unreadable request into a precise problem+json:
//! JSON bodies, query strings, path ids, `If-Match` and bearer tokens.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::auth::Actor;
use crate::domain::field::FieldError;
use crate::error::Error;
use crate::store::Precondition;

/// A JSON request body: 415 unless it is JSON, 413 past the size limit, 400 when it is not
/// UTF-8 or not JSON at all, 422 (naming the field) when it does not fit the schema.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + utoipa::ToSchema> FromRequest<AppState> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(Error::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".to_owned(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge {
                    limit: state.config.body_limit,
                }
            } else {
                Error::BadRequest(format!("could not read the request body: {rejection}"))
            }
        })?;
        parse_json(&bytes)
            .map(Json)
            .map_err(|error| every_missing_field::<T>(error, &bytes))
    }
}

/// serde names only the first missing field (and only the object that lacks it): when that is
/// the problem, every missing field is named instead, from the body's schema.
fn every_missing_field<T: utoipa::ToSchema>(error: Error, bytes: &[u8]) -> Error {
    let Error::Validation(problems) = &error else {
        return error;
    };
    if !problems.iter().any(|p| p.message.starts_with("missing field")) {
        return error;
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return error;
    };
    let missing = super::required::missing(&body, &T::name());
    if missing.is_empty() {
        error
    } else {
        Error::Validation(missing)
    }
}

/// Reads JSON, telling malformed text (400) from text of the wrong shape (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(Error::BadRequest(format!(
            "the body is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { String::new() } else { path };
                Error::Validation(vec![FieldError::new(field, "invalid_value", data_message(&inner))])
            }
            _ => Error::BadRequest(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| Error::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// serde's message without its " at line 1 column 42" tail, which means nothing to a form.
fn data_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// A query string: 422 naming the parameter when it does not fit.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|err| {
                let field = err.path().to_string();
                let message = err.into_inner().to_string();
                Error::Validation(vec![FieldError::new(
                    if field == "." { String::new() } else { field },
                    "invalid_parameter",
                    message,
                )])
            })
    }
}

fn form_urlencoded_parse(query: &str) -> url::form_urlencoded::Parse<'_> {
    url::form_urlencoded::parse(query.as_bytes())
}

/// The ids of a resource path, each a positive integer, exactly `N` of them: a 404 otherwise,
/// since no such resource can exist.
async fn path_ids<const N: usize, S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<[i64; N], Error> {
    let axum::extract::Path(raw) = axum::extract::Path::<Vec<String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| Error::NotFound("resource"))?;
    let ids: Vec<i64> = raw
        .iter()
        .map(|r| r.parse::<i64>().ok().filter(|id| *id > 0))
        .collect::<Option<_>>()
        .ok_or(Error::NotFound("resource"))?;
    ids.try_into().map_err(|_| Error::NotFound("resource"))
}

/// The `{id}` of a resource path.
#[derive(Clone, Copy, Debug)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let [id] = path_ids(parts, state).await?;
        Ok(Id(id))
    }
}

/// Two ids in the path (`/webhooks/{id}/deliveries/{delivery_id}`).
#[derive(Clone, Copy, Debug)]
pub struct Ids(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Ids {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let [a, b] = path_ids(parts, state).await?;
        Ok(Ids(a, b))
    }
}

/// Three ids in the path (`/programs/{id}/plans/{plan_id}/attachments/{attachment_id}`).
#[derive(Clone, Copy, Debug)]
pub struct Ids3(pub i64, pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Ids3 {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let [a, b, c] = path_ids(parts, state).await?;
        Ok(Ids3(a, b, c))
    }
}

/// A required `If-Match` header: 428 when missing, 400 when it holds no ETag.
#[derive(Clone, Debug)]
pub struct IfMatch(pub Precondition);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match OptionalIfMatch::parse(parts)? {
            Some(precondition) => Ok(IfMatch(precondition)),
            None => Err(Error::PreconditionRequired),
        }
    }
}

/// An optional `If-Match` header (deletes): honoured when sent.
#[derive(Clone, Debug)]
pub struct OptionalIfMatch(pub Option<Precondition>);

impl OptionalIfMatch {
    fn parse(parts: &Parts) -> Result<Option<Precondition>, Error> {
        let mut values = parts.headers.get_all(header::IF_MATCH).iter().peekable();
        if values.peek().is_none() {
            return Ok(None);
        }
        let mut versions = Vec::new();
        let mut weak = false;
        for value in values {
            let text = value
                .to_str()
                .map_err(|_| Error::BadRequest("If-Match is not readable text".to_owned()))?;
            for tag in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                if tag == "*" {
                    return Ok(Some(Precondition::Any));
                }
                // Weak tags never match under If-Match (RFC 9110 §13.1.1).
                let version = tag
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .and_then(|t| t.parse::<i32>().ok());
                match version {
                    Some(v) => versions.push(v),
                    None if tag.starts_with("W/") => weak = true,
                    None => {
                        return Err(Error::BadRequest(format!(
                            "If-Match holds {tag:?}, which is not an ETag of this API (send the ETag header value, e.g. \"3\")"
                        )));
                    }
                }
            }
        }
        if versions.is_empty() && !weak {
            return Err(Error::BadRequest("If-Match holds no ETag".to_owned()));
        }
        Ok(Some(Precondition::Versions(versions)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OptionalIfMatch {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::parse(parts).map(OptionalIfMatch)
    }
}

/// A caller that presented a valid token: 401 otherwise. Write handlers take it first, so a
/// request without credentials is told so before anything else about it is judged.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let actor = Actor::from_request_parts(parts, state).await?;
        actor.require_token()?;
        Ok(Self(actor))
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = Error;

    /// The caller the gate identified (every routed request passes it); identified here for a
    /// request that did not.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Actor>() {
            Some(actor) => Ok(actor.clone()),
            None => super::gate::identify(state, &parts.headers).await,
        }
    }
}
