//! The stamped PDF and the Word file: uploaded, known by their content, downloaded.

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::out::AttachmentOut;
use super::{require_open, require_plan_access};
use crate::domain::plan::{self, ATTACHMENT_MAX, ATTACHMENTS_PER_PLAN};
use crate::error::{Error, Result};
use crate::http::extract::{Authenticated, Ids, Ids3};
use crate::http::openapi::{CreateErrors, ReadErrors};
use crate::http::{AppState, download};
use crate::store::plans as store;
use crate::store::programs;
use utoipa::ToSchema;

/// Uploads the stamped PDF or the Word file (`multipart/form-data`, one part named `file`, up
/// to 20 MiB). What it is comes from its content: a PDF starts with `%PDF-`, a .docx is a zip
/// with a Word document inside; anything else is refused whatever it is called.
#[utoipa::path(
    post,
    path = "/programs/{id}/plans/{plan_id}/attachments",
    tag = "plans",
    params(("id" = i64, Path), ("plan_id" = i64, Path)),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data", description = "One part named `file`"),
    security(("bearer" = [])),
    responses((status = CREATED, body = AttachmentOut, headers(("Location" = String))), CreateErrors)
)]
pub(super) async fn upload_attachment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, plan_id): Ids,
    multipart: std::result::Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response> {
    let now = state.clock.now();
    {
        // Who may upload and whether it is still time are known before the body is read.
        let conn = state.db.reader();
        let program = programs::get(conn, program_id).await?;
        let plan = store::get(conn, program.id, plan_id).await?;
        require_plan_access(&actor, plan.organization_id)?;
        require_open(conn, &program, plan.organization_id, now).await?;
    }
    let mut multipart = multipart.map_err(|rejection| {
        Error::UnsupportedMediaType(format!(
            "send the file as multipart/form-data with one part named file ({rejection})"
        ))
    })?;
    let (file_name, content) = read_file_part(&mut multipart).await?;
    let kind = plan::sniff(&content).map_err(|why| Error::field("file", "unsupported_content", why.message()))?;
    let txn = state.db.begin().await?;
    let program = programs::get(&txn, program_id).await?;
    let plan = store::get_for_update(&txn, program.id, plan_id).await?;
    require_open(&txn, &program, plan.organization_id, now).await?;
    if store::attachment_count(&txn, plan.id).await? >= ATTACHMENTS_PER_PLAN {
        return Err(Error::conflict(
            "too_many_attachments",
            format!("a plan keeps at most {ATTACHMENTS_PER_PLAN} uploads; ask the association if more are needed"),
        ));
    }
    let row = store::attach(&txn, plan.id, kind, file_name, content, now).await?;
    state.audit(&actor).created(&txn, &row).await?;
    txn.commit().await?;
    let info = store::AttachmentInfo::of(&row);
    let out = AttachmentOut::new(program.id, plan.id, &info, true);
    let location = HeaderValue::from_str(&out.url);
    let mut response = (StatusCode::CREATED, axum::Json(out)).into_response();
    if let Ok(value) = location {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// The one part named `file`: its (cleaned) file name and its bytes, read up to the limit.
async fn read_file_part(multipart: &mut Multipart) -> Result<(String, Vec<u8>)> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge { limit: ATTACHMENT_MAX }
        } else {
            Error::BadRequest(format!("could not read the upload: {}", e.body_text()))
        }
    };
    let mut found = None;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() != Some("file") {
            return Err(Error::field(
                field.name().unwrap_or("part").to_owned(),
                "unknown_field",
                "send one part named file",
            ));
        }
        if found.is_some() {
            return Err(Error::field("file", "one_file", "upload one file at a time"));
        }
        let file_name = clean_file_name(field.file_name().unwrap_or(""));
        let mut content = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            if content.len() + chunk.len() > ATTACHMENT_MAX {
                return Err(Error::PayloadTooLarge { limit: ATTACHMENT_MAX });
            }
            content.extend_from_slice(&chunk);
        }
        found = Some((file_name, content));
    }
    found.ok_or_else(|| Error::field("file", "required", "send the file in a part named file"))
}

/// A file name as stored and shown: its last path segment, without control characters, at
/// most 200 characters; `attachment` when nothing is left.
fn clean_file_name(given: &str) -> String {
    let last = given.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !crate::domain::text::is_bidi_control(*c) && *c != '"')
        .take(200)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "attachment".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// Downloads an attachment (the plan's organization and admins), as the kind its content is.
#[utoipa::path(
    get,
    path = "/programs/{id}/plans/{plan_id}/attachments/{attachment_id}",
    tag = "plans",
    params(("id" = i64, Path), ("plan_id" = i64, Path), ("attachment_id" = i64, Path)),
    security(("bearer" = [])),
    responses(
        (status = OK, description = "The file, as the kind its content is (or as \
            `application/octet-stream` to a client that asks for that and not for the file's kind)", content(
            (FileContent = "application/pdf"),
            (FileContent = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            (FileContent = "application/octet-stream"),
        )),
        ReadErrors
    )
)]
pub(super) async fn download_attachment(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids3(program_id, plan_id, attachment_id): Ids3,
    headers: HeaderMap,
) -> Result<Response> {
    let conn = state.db.reader();
    let plan = store::get(conn, program_id, plan_id).await?;
    require_plan_access(&actor, plan.organization_id)?;
    let file = store::attachment(conn, plan.id, attachment_id).await?;
    let ascii = format!("plan-{}-{}.{}", plan.id, file.id, file.kind.extension());
    let disposition = HeaderValue::from_str(&download::disposition(&ascii, &file.file_name))
        .map_err(|e| Error::Internal(e.into()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(served_type(&headers, file.kind.media_type())),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        file.content,
    )
        .into_response())
}

/// The upload form, as the document describes it.
#[derive(ToSchema)]
#[allow(
    dead_code,
    reason = "describes the multipart form; the handler reads the parts itself"
)]
pub(super) struct AttachmentUpload {
    /// The stamped PDF or the Word file (.docx).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A file's bytes, as the document describes them.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code, reason = "describes a download; the handler sends the bytes itself")]
pub(super) struct FileContent(Vec<u8>);

/// The type a file goes out as: its own, unless the client asked for plain bytes and not for
/// that type (generated clients that handle any download alike ask for
/// `application/octet-stream`).
fn served_type(headers: &HeaderMap, own: &'static str) -> &'static str {
    const BYTES: &str = "application/octet-stream";
    let accepted: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|range| range.split(';').next())
        .map(str::trim)
        .collect();
    let wants = |kind: &str| accepted.iter().any(|range| range.eq_ignore_ascii_case(kind));
    if wants(BYTES) && !wants(own) { BYTES } else { own }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_goes_out_as_its_kind_unless_only_bytes_are_asked_for() {
        let pdf = "application/pdf";
        let with = |accept: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
            served_type(&headers, pdf)
        };
        assert_eq!(served_type(&HeaderMap::new(), pdf), pdf);
        assert_eq!(with("*/*"), pdf);
        assert_eq!(with("application/octet-stream"), "application/octet-stream");
        assert_eq!(
            with("Application/Octet-Stream;q=0.9, text/html"),
            "application/octet-stream"
        );
        assert_eq!(with("application/pdf, application/octet-stream"), pdf);
    }

    #[test]
    fn file_names_keep_their_last_segment_and_lose_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\科协\\筹备工作方案.pdf"), "筹备工作方案.pdf");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("方案\r\n\".docx"), "方案.docx");
        assert_eq!(clean_file_name("方案\u{202E}xcod.exe"), "方案xcod.exe");
        assert_eq!(clean_file_name(".."), "attachment");
        assert_eq!(clean_file_name(""), "attachment");
        assert_eq!(clean_file_name(&"长".repeat(300)).chars().count(), 200);
    }
}
