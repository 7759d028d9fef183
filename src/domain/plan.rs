//! Preparation plans (附件1 筹备工作方案): the rules that hold whatever stores them — when a
//! plan may still be submitted, what a plan's text must be, and what an uploaded attachment is.
//! How a review moves is [`entity::kinds::PlanReview::may_become`].

use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};

use entity::kinds::AttachmentKind;

use super::field::FieldError;
use super::text;

/// Whether a plan may be submitted or revised at `now`: up to and including the deadline's
/// last second (a deadline of 23:59:59 takes a plan at 23:59:59.999), or until an extension
/// granted to the organization ends, whichever is later.
pub fn open_at(deadline: DateTime<Utc>, extended_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let last = extended_until.map_or(deadline, |extended| extended.max(deadline));
    let last_second = last.duration_trunc(TimeDelta::seconds(1)).unwrap_or(last);
    now < last_second + TimeDelta::seconds(1)
}

/// Most characters of a plan's text. The form asks for about 800; this leaves room for a
/// long one while refusing a pasted document.
pub const TEXT_MAX: usize = 5_000;

/// The fewest characters a plan's text may have: a sentence or two is not a plan.
pub const TEXT_MIN: usize = 20;

/// A plan's text: several lines, between [`TEXT_MIN`] and [`TEXT_MAX`] characters.
pub fn plan_text(field: &str, value: &str) -> Result<String, FieldError> {
    let text = text::optional_multiline(field, Some(value), TEXT_MAX)?
        .ok_or_else(|| FieldError::new(field, "required", "write the plan (about 800 characters)"))?;
    let length = text.chars().count();
    if length < TEXT_MIN {
        return Err(FieldError::new(
            field,
            "too_short",
            format!("{length} characters is not a plan; the form asks for about 800"),
        ));
    }
    Ok(text)
}

/// Most bytes of one attachment: a scanned, stamped plan of a few pages fits with room to spare.
pub const ATTACHMENT_MAX: usize = 20 * 1024 * 1024;

/// Most uploads one plan keeps: room for every corrected scan, not for a plan used as storage.
pub const ATTACHMENTS_PER_PLAN: u64 = 20;

/// Why an upload is not a plan attachment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAttachment {
    /// Nothing was uploaded.
    Empty,
    /// A zip archive without a Word document in it (an .xlsx, a .pptx, a plain archive).
    NotWord,
    /// Neither a PDF nor a zip archive: an old .doc, an image, a program.
    Unknown,
}

impl NotAttachment {
    /// What the uploader is told.
    pub fn message(self) -> &'static str {
        match self {
            Self::Empty => "the file is empty",
            Self::NotWord => "the archive is not a Word document; upload the plan as .docx or PDF",
            Self::Unknown => "the file is neither a PDF nor a Word document (.docx); save the plan as one of them",
        }
    }
}

/// What an uploaded file is, from its bytes alone: a PDF starts with `%PDF-`; a .docx is a zip
/// archive whose table of contents lists `[Content_Types].xml` and `word/document.xml`.
/// Nothing is decompressed, so a crafted archive costs no more than reading its directory.
pub fn sniff(content: &[u8]) -> Result<AttachmentKind, NotAttachment> {
    if content.is_empty() {
        return Err(NotAttachment::Empty);
    }
    if content.starts_with(b"%PDF-") {
        return Ok(AttachmentKind::Pdf);
    }
    if !content.starts_with(b"PK\x03\x04") {
        return Err(NotAttachment::Unknown);
    }
    let archive = zip::ZipArchive::new(std::io::Cursor::new(content)).map_err(|_| NotAttachment::NotWord)?;
    let names: std::collections::HashSet<String> = archive
        .file_names()
        .filter_map(|name| name.ok().map(|n| n.into_owned()))
        .collect();
    if names.contains("[Content_Types].xml") && names.contains("word/document.xml") {
        Ok(AttachmentKind::Docx)
    } else {
        Err(NotAttachment::NotWord)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::zone::Zone;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn the_deadline_takes_its_last_second_and_not_the_next_in_any_offset() {
        // 17 May 2019, 23:59:59 in Asia/Shanghai.
        let local = chrono::NaiveDate::from_ymd_opt(2019, 5, 17)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        let deadline = local
            .and_local_timezone(Zone::from_stored("Asia/Shanghai").tz())
            .unwrap()
            .to_utc();
        assert!(open_at(deadline, None, at("2019-05-17T23:59:59+08:00")));
        assert!(open_at(deadline, None, at("2019-05-17T23:59:59.999+08:00")));
        assert!(
            open_at(deadline, None, at("2019-05-17T15:59:59Z")),
            "the same instant in UTC"
        );
        assert!(!open_at(deadline, None, at("2019-05-18T00:00:00+08:00")));
        assert!(!open_at(deadline, None, at("2019-05-17T16:00:00Z")));
        assert!(!open_at(deadline, None, at("2019-05-17T18:00:00+02:00")));
    }

    #[test]
    fn an_extension_moves_the_deadline_later_never_earlier() {
        let deadline = at("2019-05-17T23:59:59+08:00");
        let extended = at("2019-05-20T12:00:00+08:00");
        assert!(open_at(deadline, Some(extended), at("2019-05-20T11:59:59+08:00")));
        assert!(!open_at(deadline, Some(extended), at("2019-05-20T12:00:01+08:00")));
        let earlier = at("2019-05-10T00:00:00+08:00");
        assert!(open_at(deadline, Some(earlier), at("2019-05-17T23:00:00+08:00")));
    }

    #[test]
    fn a_review_moves_forward_or_ends_and_never_back() {
        use entity::kinds::PlanReview::*;
        assert!(Submitted.may_become(Shortlisted));
        assert!(Shortlisted.may_become(Forwarded));
        assert!(Forwarded.may_become(Selected));
        assert!(Submitted.may_become(NotSelected) && Forwarded.may_become(NotSelected));
        assert!(!Submitted.may_become(Forwarded), "no step is skipped");
        assert!(!Forwarded.may_become(Shortlisted), "no step back");
        assert!(!Selected.may_become(NotSelected) && !NotSelected.may_become(Selected));
        assert!(Selected.is_final() && NotSelected.is_final() && !Forwarded.is_final());
    }

    #[test]
    fn a_plan_is_neither_empty_nor_a_pasted_document() {
        let plan = "围绕“科技工作者日”主题，组织科普报告会、科技志愿服务和优秀科技工作者风采展示等活动。";
        assert_eq!(plan_text("text", &format!("  {plan}\r\n")).unwrap(), plan);
        assert_eq!(plan_text("text", " \n ").unwrap_err().code, "required");
        assert_eq!(plan_text("text", "科普活动").unwrap_err().code, "too_short");
        assert_eq!(
            plan_text("text", &"科".repeat(TEXT_MAX + 1)).unwrap_err().code,
            "too_long"
        );
        assert!(plan_text("text", &"科".repeat(TEXT_MAX)).is_ok());
    }

    /// A zip archive holding `names`, each stored uncompressed.
    fn zip_of(names: &[&str]) -> Vec<u8> {
        use std::io::Write as _;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for name in names {
            writer.start_file(*name, options).unwrap();
            writer.write_all(b"<xml/>").unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn attachments_are_known_by_their_bytes_not_their_names() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), Ok(AttachmentKind::Pdf));
        let docx = zip_of(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"]);
        assert_eq!(sniff(&docx), Ok(AttachmentKind::Docx));
        let xlsx = zip_of(&["[Content_Types].xml", "xl/workbook.xml"]);
        assert_eq!(sniff(&xlsx), Err(NotAttachment::NotWord));
        assert_eq!(
            sniff(b"MZ\x90\x00\x03\x00\x00\x00"),
            Err(NotAttachment::Unknown),
            "a Windows program"
        );
        assert_eq!(
            sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
            Err(NotAttachment::Unknown),
            "an old .doc"
        );
        assert_eq!(sniff(b"PK\x03\x04 truncated"), Err(NotAttachment::NotWord));
        assert_eq!(sniff(b""), Err(NotAttachment::Empty));
        assert_eq!(
            sniff(b" %PDF-1.4"),
            Err(NotAttachment::Unknown),
            "the signature comes first"
        );
    }
}
