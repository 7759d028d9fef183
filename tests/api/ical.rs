//! A strict little iCalendar reader for assertions: it checks the line rules every feed must
//! keep (CRLF only, at most 75 octets, folds between characters) while it parses.

/// One content line, unfolded.
#[derive(Clone, Debug)]
pub struct Line {
    pub name: String,
    pub params: Vec<(String, String)>,
    /// As written (still escaped).
    pub value: String,
}

impl Line {
    /// A parameter's value (caret escapes left as written).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A component with its lines and children.
#[derive(Clone, Debug)]
pub struct Component {
    pub kind: String,
    pub lines: Vec<Line>,
    pub children: Vec<Component>,
}

impl Component {
    /// The first line called `name`.
    pub fn line(&self, name: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.name == name)
    }

    /// The raw value of the first line called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.line(name).map(|l| l.value.as_str())
    }

    /// A TEXT value, unescaped.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(unescape)
    }

    /// Children of one kind.
    pub fn children(&self, kind: &str) -> Vec<&Component> {
        self.children.iter().filter(|c| c.kind == kind).collect()
    }

    /// The `VEVENT`s.
    pub fn events(&self) -> Vec<&Component> {
        self.children("VEVENT")
    }

    /// The event with this UID.
    pub fn event(&self, uid: &str) -> &Component {
        self.events()
            .into_iter()
            .find(|e| e.get("UID") == Some(uid))
            .unwrap_or_else(|| panic!("no event {uid}"))
    }
}

/// Undoes TEXT escaping.
pub fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => panic!("a value ends in a lone backslash: {value:?}"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses a whole `VCALENDAR`, asserting the line rules on the way.
pub fn parse(text: &str) -> Component {
    assert!(text.ends_with("\r\n"), "the text must end with CRLF");
    let physical: Vec<&str> = text[..text.len() - 2].split("\r\n").collect();
    let mut logical: Vec<String> = Vec::new();
    for line in physical {
        assert!(
            !line.contains('\r') && !line.contains('\n'),
            "a bare CR or LF: {line:?}"
        );
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        match line.strip_prefix(' ') {
            Some(rest) => logical.last_mut().expect("a continuation first").push_str(rest),
            None => logical.push(line.to_owned()),
        }
    }
    let mut stack: Vec<Component> = vec![Component {
        kind: String::new(),
        lines: Vec::new(),
        children: Vec::new(),
    }];
    for text in logical {
        let line = split(&text);
        match line.name.as_str() {
            "BEGIN" => stack.push(Component {
                kind: line.value,
                lines: Vec::new(),
                children: Vec::new(),
            }),
            "END" => {
                let done = stack.pop().expect("END without BEGIN");
                assert_eq!(done.kind, line.value, "END does not match BEGIN");
                stack.last_mut().expect("END at the top").children.push(done);
            }
            _ => stack.last_mut().expect("a component").lines.push(line),
        }
    }
    assert_eq!(stack.len(), 1, "unclosed components");
    let mut top = stack.pop().expect("the document");
    assert_eq!(top.children.len(), 1, "one VCALENDAR");
    let calendar = top.children.remove(0);
    assert_eq!(calendar.kind, "VCALENDAR");
    calendar
}

/// `NAME;P=V;Q="W":VALUE` split outside quotes.
fn split(text: &str) -> Line {
    let mut quoted = false;
    let mut head_end = None;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => {
                head_end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let end = head_end.unwrap_or_else(|| panic!("no colon in {text:?}"));
    let (head, value) = (&text[..end], &text[end + 1..]);
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in head.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    let name = parts.remove(0);
    let params = parts
        .into_iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .unwrap_or_else(|| panic!("parameter without value: {p:?}"));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    Line {
        name,
        params,
        value: value.to_owned(),
    }
}

/// Every `TZID` a calendar uses has its `VTIMEZONE`, with no `UID` or `DTSTAMP` inside.
pub fn assert_zones_complete(calendar: &Component) {
    let defined: Vec<&str> = calendar
        .children("VTIMEZONE")
        .iter()
        .map(|z| {
            assert!(z.get("UID").is_none() && z.get("DTSTAMP").is_none());
            assert!(!z.children.is_empty(), "a VTIMEZONE without observances");
            z.get("TZID").expect("TZID")
        })
        .collect();
    for event in calendar.events() {
        for line in &event.lines {
            if let Some(zone) = line.param("TZID") {
                assert!(defined.contains(&zone), "{zone} has no VTIMEZONE");
            }
        }
        if event.line("DTSTART").and_then(|l| l.param("VALUE")) != Some("DATE") {
            assert!(
                event.line("DTSTART").and_then(|l| l.param("TZID")).is_some(),
                "a floating or UTC time: {:?}",
                event.line("DTSTART")
            );
        }
    }
}
