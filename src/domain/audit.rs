//! What the audit trail keeps of a change: the fields that differ, each as `{"old", "new"}`,
//! with personal data masked as in other answers and secrets reduced to the fact that they
//! changed.

use serde_json::{Map, Value, json};

use super::contact::mask_mobile;

/// Fields every record carries that say nothing a reader of the trail needs: the entry
/// itself names the record and the time.
const BOOKKEEPING: &[&str] = &["id", "version", "created_at", "updated_at", "sequence", "last_used_at"];

/// Fields whose value is a secret: the trail says they changed, never what they hold.
const SECRETS: &[&str] = &["secret", "secret_hash", "feed_token", "page_token", "content"];

/// What stands in for a secret's value.
pub const REDACTED: &str = "[redacted]";

/// The fields that differ between `before` and `after` (either absent for a record created or
/// removed), in the order the record lists them, each as `{"old": …, "new": …}`; a created
/// record lists only what it holds (`new`), a removed one what it held (`old`).
pub fn changes(
    kind: &str,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let empty = Map::new();
    let (old, new) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let fields = new.keys().chain(old.keys().filter(|k| !new.contains_key(*k)));
    let mut changed = Map::new();
    for field in fields {
        if BOOKKEEPING.contains(&field.as_str()) {
            continue;
        }
        let (was, is) = (
            old.get(field).unwrap_or(&Value::Null),
            new.get(field).unwrap_or(&Value::Null),
        );
        if was == is {
            continue;
        }
        let mut change = Map::new();
        if before.is_some() {
            change.insert("old".to_owned(), masked(kind, field, was));
        }
        if after.is_some() {
            change.insert("new".to_owned(), masked(kind, field, is));
        }
        changed.insert(field.clone(), Value::Object(change));
    }
    changed
}

/// A field's value as the trail may show it.
pub fn masked(kind: &str, field: &str, value: &Value) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    // A webhook's address carries the chat platform's access token.
    if SECRETS.contains(&field) || (kind == "webhook" && field == "url") {
        return json!(REDACTED);
    }
    match (field, value) {
        ("mobile" | "contact_mobile", Value::String(mobile)) => json!(mask_mobile(mobile)),
        ("email" | "contact_email", Value::String(email)) => json!(mask_email(email)),
        _ => value.clone(),
    }
}

/// An e-mail address with its mailbox hidden but its first letter (`z***@example.cn`).
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn an_update_lists_only_the_fields_that_differ_with_old_and_new() {
        let before = map(json!({"id": 3, "name": "科普周", "capacity": 40, "version": 1, "updated_at": "a"}));
        let after = map(json!({"id": 3, "name": "科普周", "capacity": 60, "version": 2, "updated_at": "b"}));
        assert_eq!(
            Value::Object(changes("session", Some(&before), Some(&after))),
            json!({"capacity": {"old": 40, "new": 60}})
        );
    }

    #[test]
    fn a_created_record_lists_what_it_holds_and_a_removed_one_what_it_held() {
        let record = map(json!({"id": 9, "name": "讲解员", "team_id": null, "needed": 3}));
        assert_eq!(
            Value::Object(changes("session_role", None, Some(&record))),
            json!({"name": {"new": "讲解员"}, "needed": {"new": 3}})
        );
        assert_eq!(
            Value::Object(changes("session_role", Some(&record), None)),
            json!({"name": {"old": "讲解员"}, "needed": {"old": 3}})
        );
    }

    #[test]
    fn personal_data_is_masked_and_secrets_are_redacted() {
        let before = map(json!({"mobile": "13812345678", "email": "zhang.san@lyg.cn", "feed_token": "0123abcd"}));
        let after = map(json!({"mobile": "13987654321", "email": "li.si@lyg.cn", "feed_token": "4567ef01"}));
        let changed = Value::Object(changes("volunteer", Some(&before), Some(&after)));
        assert_eq!(
            changed,
            json!({
                "mobile": {"old": "138****5678", "new": "139****4321"},
                "email": {"old": "z***@lyg.cn", "new": "l***@lyg.cn"},
                "feed_token": {"old": REDACTED, "new": REDACTED},
            })
        );
        let text = changed.to_string();
        assert!(!text.contains("12345678") && !text.contains("zhang.san") && !text.contains("0123abcd"));
    }

    #[test]
    fn a_webhook_address_is_a_secret_but_a_video_link_is_not() {
        let url = json!("https://oapi.dingtalk.com/robot/send?access_token=abc");
        assert_eq!(masked("webhook", "url", &url), json!(REDACTED));
        assert_eq!(masked("session", "video_url", &url), url);
        assert_eq!(masked("webhook", "url", &Value::Null), Value::Null);
    }
}
