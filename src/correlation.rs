//! The id of the request being served, so that its log lines, its problem answers and the
//! audit entries of its writes can be matched up. It is set for the request's task by the
//! HTTP layer and read wherever it is needed, without being passed through every call.

use rand::RngCore as _;

tokio::task_local! {
    static REQUEST_ID: RequestId;
}

/// Longest request id taken from a client or proxy (`X-Request-Id`).
const MAX_LEN: usize = 64;

/// A request's id: one a proxy in front of the service gave, if it is short and plain, else a
/// fresh random one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// A new random id: 128 bits as 32 lowercase hex digits.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The id a caller sent, when it is 1–64 letters, digits, `-`, `_` or `.`; anything else
    /// (which would end up in logs) is not taken.
    pub fn given(text: &str) -> Option<Self> {
        let plain = !text.is_empty()
            && text.len() <= MAX_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        plain.then(|| Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs `work` as the request `id`.
pub async fn scope<F: Future>(id: RequestId, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The id of the request this task serves, if it serves one.
pub fn request_id() -> Option<RequestId> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_taken_from_callers() {
        assert_eq!(
            RequestId::given("req-42_a.b").map(|id| id.0),
            Some("req-42_a.b".to_owned())
        );
        assert!(RequestId::given("").is_none());
        assert!(RequestId::given("with space").is_none());
        assert!(RequestId::given("line\nbreak").is_none());
        assert!(RequestId::given(&"a".repeat(65)).is_none());
        let generated = RequestId::generate();
        assert_eq!(generated.as_str().len(), 32);
        assert_ne!(generated, RequestId::generate());
    }

    #[tokio::test]
    async fn the_id_is_known_inside_its_scope_only() {
        assert!(request_id().is_none());
        let id = RequestId::generate();
        let seen = scope(id.clone(), async { request_id() }).await;
        assert_eq!(seen, Some(id));
    }
}
