//! iCalendar text (RFC 5545) for the components of the `icalendar` crate, and for those the
//! crate cannot model (`VTIMEZONE`).
//!
//! The crate's component model — properties with parameters, nested components — is sound,
//! and the feeds build their events with it. Its writer is not fit for feeds that every client
//! has to read the same way, so this module writes the text itself:
//! - nothing is invented: a component without `UID` or `DTSTAMP` is written without them, so
//!   a render is a pure function of the data (the crate adds random ones on every render);
//! - TEXT values — `NAME` included — are escaped (`\` `;` `,` newline), carriage returns
//!   become newlines and other control characters are dropped;
//! - parameter values are caret-encoded (RFC 6868) and quoted when they contain `:` `;` `,`;
//! - lines are folded at 75 octets, never inside a UTF-8 character or an escape sequence;
//! - every line ends in CRLF.

use icalendar::{CalendarComponent, Component, Property};

/// Longest content line, in octets, without its CRLF.
pub const MAX_LINE: usize = 75;

/// Properties whose values are TEXT and get escaped. Everything else is written as given,
/// minus control characters (a stray newline in a URL must not start a new property).
fn is_text(name: &str) -> bool {
    matches!(
        name,
        "SUMMARY"
            | "DESCRIPTION"
            | "LOCATION"
            | "COMMENT"
            | "CONTACT"
            | "NAME"
            | "X-WR-CALNAME"
            | "X-WR-CALDESC"
            | "X-WR-TIMEZONE"
            | "TZID"
            | "TZNAME"
            | "UID"
            | "PRODID"
            | "RELATED-TO"
    )
}

/// Builds iCalendar text: one content line at a time, folded as it is written.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    line: String,
}

impl Writer {
    /// A writer expecting about `capacity` bytes of output.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
            line: String::with_capacity(256),
        }
    }

    /// `BEGIN:{kind}`.
    pub fn begin(&mut self, kind: &str) {
        self.out.push_str("BEGIN:");
        self.out.push_str(kind);
        self.out.push_str("\r\n");
    }

    /// `END:{kind}`.
    pub fn end(&mut self, kind: &str) {
        self.out.push_str("END:");
        self.out.push_str(kind);
        self.out.push_str("\r\n");
    }

    /// One property with its parameters. TEXT properties are escaped; see the module docs.
    pub fn property<'a>(&mut self, name: &str, params: impl IntoIterator<Item = (&'a str, &'a str)>, value: &str) {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.push_str(name);
        for (key, param) in params {
            line.push(';');
            line.push_str(key);
            line.push('=');
            push_param_value(&mut line, param);
        }
        line.push(':');
        if is_text(name) {
            push_text(&mut line, value);
        } else {
            push_verbatim(&mut line, value);
        }
        push_folded(&mut self.out, &line);
        self.line = line;
    }

    /// A property of the `icalendar` crate's model.
    pub fn crate_property(&mut self, property: &Property) {
        let params = property.params().values().map(|p| (p.key(), p.value()));
        self.property(property.key(), params, property.value());
    }

    /// A component of the crate's model with its children, in a fixed order: identity and
    /// time first, then the other properties by name, then the children.
    pub fn component<C: Component + ?Sized>(&mut self, component: &C) {
        const LEADING: [&str; 5] = ["UID", "TZID", "DTSTAMP", "DTSTART", "DTEND"];
        let kind = component.component_kind();
        self.begin(&kind);
        let properties = component.properties();
        for name in LEADING {
            if let Some(property) = properties.get(name) {
                self.crate_property(property);
            }
        }
        for (name, property) in properties {
            if !LEADING.contains(&name.as_str()) {
                self.crate_property(property);
            }
        }
        for property in component.multi_properties().values().flatten() {
            self.crate_property(property);
        }
        for child in component.components() {
            self.component(child);
        }
        self.end(&kind);
    }

    /// A calendar component of the crate's model.
    pub fn calendar_component(&mut self, component: &CalendarComponent) {
        match component {
            CalendarComponent::Event(event) => self.component(event),
            CalendarComponent::Todo(todo) => self.component(todo),
            CalendarComponent::Venue(venue) => self.component(venue),
            other => {
                if let CalendarComponent::Other(other) = other {
                    self.component(other);
                }
            }
        }
    }

    /// Text written before, by another writer (a cached event), taken as it is.
    pub fn written(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A TEXT list (`CATEGORIES`): each item escaped, joined by unescaped commas. The result is
/// written verbatim, so commas inside an item stay escaped and the list stays a list.
pub fn text_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_text(&mut out, item);
    }
    out
}

/// Appends `text` escaped as an RFC 5545 TEXT value.
fn push_text(out: &mut String, text: &str) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                // CRLF and a lone CR are both one line break.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// Appends a non-TEXT value (URI, date, number) as it is, minus control characters.
fn push_verbatim(out: &mut String, value: &str) {
    if value.chars().any(char::is_control) {
        out.extend(value.chars().filter(|c| !c.is_control()));
    } else {
        out.push_str(value);
    }
}

/// Appends a parameter value: caret-encoded (RFC 6868: `^^`, `^n`, `^'`) and quoted when it
/// holds a character that would end it.
fn push_param_value(out: &mut String, value: &str) {
    let quoted = value.contains([':', ';', ',']);
    if quoted {
        out.push('"');
    }
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '^' => out.push_str("^^"),
            '"' => out.push_str("^'"),
            '\n' => out.push_str("^n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("^n");
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    if quoted {
        out.push('"');
    }
}

/// Appends `line` folded so no physical line exceeds [`MAX_LINE`] octets, then CRLF. A fold
/// never splits a UTF-8 character, nor an escape (`\n`, `\,`, `^n`, …) from what it escapes.
fn push_folded(out: &mut String, line: &str) {
    if line.len() <= MAX_LINE {
        out.push_str(line);
        out.push_str("\r\n");
        return;
    }
    let mut width = 0;
    let mut rest = line;
    while let Some(first) = rest.chars().next() {
        let mut unit = first.len_utf8();
        if matches!(first, '\\' | '^')
            && let Some(escaped) = rest[unit..].chars().next()
        {
            unit += escaped.len_utf8();
        }
        if width + unit > MAX_LINE {
            // The continuation's leading space counts toward its 75 octets.
            out.push_str("\r\n ");
            width = 1;
        }
        out.push_str(&rest[..unit]);
        width += unit;
        rest = &rest[unit..];
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use icalendar::{Alarm, Calendar, Component as _, EventLike as _};

    use super::*;

    fn written(name: &str, value: &str) -> String {
        let mut writer = Writer::default();
        writer.property(name, [], value);
        writer.finish()
    }

    /// Undoes folding: every CRLF followed by one space goes.
    fn unfolded(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    fn physical_lines(text: &str) -> Vec<&str> {
        text.strip_suffix("\r\n").unwrap_or(text).split("\r\n").collect()
    }

    #[test]
    fn text_is_escaped_and_carriage_returns_normalized() {
        assert_eq!(
            written("SUMMARY", "a\\b;c,d\ne\r\nf\rg\u{7}h\ti"),
            "SUMMARY:a\\\\b\\;c\\,d\\ne\\nf\\ngh\ti\r\n"
        );
        assert_eq!(written("NAME", "科技,创新;未来"), "NAME:科技\\,创新\\;未来\r\n");
        // URIs and other non-TEXT values keep their commas and semicolons, never a newline.
        assert_eq!(written("GEO", "34.6;119.2"), "GEO:34.6;119.2\r\n");
        assert_eq!(
            written("URL", "https://a.example/x?a=1,2\r\nEVIL:1"),
            "URL:https://a.example/x?a=1,2EVIL:1\r\n"
        );
    }

    #[test]
    fn parameter_values_are_quoted_and_caret_encoded() {
        let mut writer = Writer::default();
        writer.property(
            "CONFERENCE",
            [("VALUE", "URI"), ("LABEL", "He said \"hi\"; 2^3\nnext")],
            "https://v.example/1",
        );
        assert_eq!(
            writer.finish(),
            "CONFERENCE;VALUE=URI;LABEL=\"He said ^'hi^'; 2^^3^nnext\":https://v.example/1\r\n"
        );
    }

    #[test]
    fn text_lists_keep_item_commas_escaped() {
        assert_eq!(text_list(["系列活动", "义诊,咨询"]), "系列活动,义诊\\,咨询");
        assert_eq!(
            written("CATEGORIES", &text_list(["a;b", "c"])),
            "CATEGORIES:a\\;b,c\r\n"
        );
    }

    #[test]
    fn folding_never_exceeds_75_octets_nor_splits_a_character_or_an_escape() {
        let pieces = ["a", " ", "中", "😀", "é", ",", ";", "\\", "\n"];
        for length in 0..200usize {
            for (i, first) in pieces.iter().enumerate() {
                for second in &pieces[i..] {
                    // Every boundary position: `first` repeated, then `second`.
                    for split in [0, 1, length / 3, length / 2, length.saturating_sub(1)] {
                        let value: String = (0..length).map(|k| if k < split { *first } else { *second }).collect();
                        let text = written("DESCRIPTION", &value);
                        for line in physical_lines(&text) {
                            assert!(line.len() <= MAX_LINE, "{} octets: {line:?}", line.len());
                            // Escapes come in pairs, so an odd run of trailing backslashes is a split escape.
                            let trailing = line.bytes().rev().take_while(|b| *b == b'\\').count();
                            assert!(trailing % 2 == 0, "escape split: {line:?}");
                        }
                        assert!(text.ends_with("\r\n"));
                        assert!(!text.replace("\r\n", "").contains(['\r', '\n']));
                        let mut plain = String::new();
                        push_text(&mut plain, &value);
                        assert_eq!(unfolded(&text), format!("DESCRIPTION:{plain}\r\n"));
                    }
                }
            }
        }
    }

    #[test]
    fn a_line_of_exactly_75_octets_is_not_folded_and_76_is() {
        let exact = format!("SUMMARY:{}", "a".repeat(MAX_LINE - "SUMMARY:".len()));
        assert_eq!(
            physical_lines(&written("SUMMARY", &exact["SUMMARY:".len()..])),
            [exact.as_str()]
        );
        let over = written("SUMMARY", &"a".repeat(MAX_LINE - "SUMMARY:".len() + 1));
        let lines = physical_lines(&over);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE);
        assert_eq!(lines[1], " a");
    }

    /// The defects of `icalendar` 0.17 that this module exists for. Should a release fix
    /// one, its assertion here fails and the workaround can be reconsidered.
    mod crate_defects {
        use super::*;

        #[test]
        fn the_crate_invents_a_random_uid_and_dtstamp_on_every_render() {
            let event = icalendar::Event::new().summary("科技工作者日").done();
            let (first, second) = (event.to_string(), event.to_string());
            assert!(first.contains("UID:") && first.contains("DTSTAMP:"));
            let uid = |text: &str| text.lines().find(|l| l.starts_with("UID:")).map(str::to_owned);
            assert_ne!(uid(&first), uid(&second));

            let mut writer = Writer::default();
            writer.component(&event);
            let ours = writer.finish();
            assert!(!ours.contains("UID:") && !ours.contains("DTSTAMP:"));
        }

        #[test]
        fn the_crate_invents_them_inside_valarm_too() {
            let event = icalendar::Event::new()
                .uid("session-1@sciday")
                .timestamp(chrono::DateTime::UNIX_EPOCH)
                .alarm(Alarm::display("提醒", -chrono::TimeDelta::hours(1)))
                .done();
            let theirs = event.to_string();
            let alarm = &theirs[theirs.find("BEGIN:VALARM").unwrap_or(0)..];
            assert!(alarm.contains("UID:") && alarm.contains("DTSTAMP:"));

            let mut writer = Writer::default();
            writer.component(&event);
            let ours = writer.finish();
            let alarm = &ours[ours.find("BEGIN:VALARM").unwrap_or(0)..];
            assert!(alarm.starts_with("BEGIN:VALARM\r\n"));
            assert!(!alarm.contains("UID:") && !alarm.contains("DTSTAMP:"));
            let mut again = Writer::default();
            again.component(&event);
            assert_eq!(again.finish(), ours);
        }

        #[test]
        fn the_crate_can_fold_to_a_76_octet_line() {
            let value = format!("{}{}", "a".repeat(19), "中".repeat(41));
            let theirs: String = Property::new("X-TEST", value.as_str()).try_into().unwrap_or_default();
            assert!(physical_lines(&theirs).iter().any(|line| line.len() > MAX_LINE));
            let ours = written("X-TEST", &value);
            assert!(physical_lines(&ours).iter().all(|line| line.len() <= MAX_LINE));
        }

        #[test]
        fn the_crate_does_not_escape_name_or_parameter_values() {
            let mut calendar = Calendar::new();
            calendar.name("科技,创新;未来");
            let theirs = calendar.to_string();
            assert!(theirs.contains("NAME:科技,创新;未来\r\n"));
            let mut writer = Writer::default();
            for property in &calendar.properties {
                writer.crate_property(property);
            }
            assert!(writer.finish().contains("\r\nNAME:科技\\,创新\\;未来\r\n"));

            let property = Property::new("CONFERENCE", "https://x.example")
                .add_parameter("LABEL", "say \"hi\"")
                .done();
            let theirs: String = property.clone().try_into().unwrap_or_default();
            assert!(theirs.contains("LABEL=say \"hi\":"));
            let mut writer = Writer::default();
            writer.crate_property(&property);
            assert_eq!(writer.finish(), "CONFERENCE;LABEL=say ^'hi^':https://x.example\r\n");
        }

        #[test]
        fn the_crate_lets_a_carriage_return_through() {
            let event = icalendar::Event::new().summary("上午\r\n下午").done();
            assert!(event.to_string().contains("上午\r\\n下午"));
            let mut writer = Writer::default();
            writer.component(&event);
            assert!(writer.finish().contains("SUMMARY:上午\\n下午\r\n"));
        }

        #[test]
        fn the_crate_writes_an_all_day_dtend_equal_to_dtstart() {
            let day = chrono::NaiveDate::from_ymd_opt(2019, 5, 30).unwrap_or_default();
            let event = icalendar::Event::new().all_day(day).done();
            let text = event.to_string();
            assert!(text.contains("DTSTART;VALUE=DATE:20190530") && text.contains("DTEND;VALUE=DATE:20190530"));
        }
    }
}
