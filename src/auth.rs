//! Bearer tokens and the caller they identify.
//!
//! A token is `sciday_` followed by 256 random bits; only its SHA-256 digest is stored.
//! (A fast digest is enough: the secret is random, not a password someone chose.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{Reach, Visibility};

/// Every token starts with this, so leaked tokens are easy to recognize and scan for.
pub const TOKEN_PREFIX: &str = "sciday_";

/// A freshly generated token: the secret (shown once) and what is stored of it.
#[derive(Debug)]
pub struct NewSecret {
    /// The whole token, to hand to its owner.
    pub token: String,
    /// Hex SHA-256 of the token.
    pub hash: String,
    /// The first characters, to tell tokens apart in lists.
    pub prefix: String,
}

/// Generates a new random token.
pub fn generate() -> NewSecret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    NewSecret {
        hash: digest(&token),
        prefix: token.chars().take(TOKEN_PREFIX.len() + 4).collect(),
        token,
    }
}

/// Hex SHA-256 of a token, as stored.
pub fn digest(token: &str) -> String {
    let hash = Sha256::digest(token.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Length of a volunteer's calendar feed token: 128 random bits as lowercase hex.
pub const FEED_TOKEN_LEN: usize = 32;

/// A new random feed token. It is a read-only capability for one volunteer's calendar and
/// has to appear in the URL a calendar app polls, so it is stored as it is (never logged).
pub fn feed_token() -> String {
    let mut bytes = [0u8; FEED_TOKEN_LEN / 2];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` has the shape of a feed token (checked before any lookup).
pub fn is_feed_token(text: &str) -> bool {
    text.len() == FEED_TOKEN_LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// No token: may read public data.
    Anonymous,
    /// An admin token: may do everything.
    Admin {
        /// The token's id.
        token_id: i64,
    },
    /// An organizer token: may manage one organization and everything below it.
    Organizer {
        /// The token's id.
        token_id: i64,
        /// The organization.
        organization_id: i64,
        /// Its materialized path; the subtree is every path with this prefix.
        path: String,
    },
    /// A volunteer token: may see and answer that volunteer's own assignments.
    Volunteer {
        /// The token's id.
        token_id: i64,
        /// The volunteer.
        volunteer_id: i64,
    },
}

impl Actor {
    /// The id of the token presented, if any.
    pub fn token_id(&self) -> Option<i64> {
        match self {
            Self::Anonymous => None,
            Self::Admin { token_id } | Self::Organizer { token_id, .. } | Self::Volunteer { token_id, .. } => {
                Some(*token_id)
            }
        }
    }

    /// Whether this is an admin.
    pub fn is_admin(&self) -> bool {
        matches!(self, Self::Admin { .. })
    }

    /// Fails with 401 for anonymous callers.
    pub fn require_token(&self) -> Result<()> {
        match self {
            Self::Anonymous => Err(Error::Unauthenticated("this needs a bearer token")),
            _ => Ok(()),
        }
    }

    /// Fails with 401 for anonymous callers and 403 for everyone but admins.
    pub fn require_admin(&self) -> Result<()> {
        self.require_token()?;
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden("only admins may do this".to_owned()))
        }
    }

    /// Whether the caller manages the organization at `path`.
    pub fn manages(&self, path: &str) -> bool {
        match self {
            Self::Anonymous | Self::Volunteer { .. } => false,
            Self::Admin { .. } => true,
            Self::Organizer { path: scope, .. } => path.starts_with(scope.as_str()),
        }
    }

    /// Fails with 401 for anonymous callers and 403 when the organization at `path` (named
    /// `what` in the message) is outside the caller's scope.
    pub fn require_manages(&self, path: &str, what: &str) -> Result<()> {
        self.require_token()?;
        if self.manages(path) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "{what} belongs to an organization outside your token's scope"
            )))
        }
    }

    /// Whose assignments and which volunteers the caller may see (401 for anonymous callers).
    pub fn reach(&self) -> Result<Reach> {
        match self {
            Self::Anonymous => Err(Error::Unauthenticated("this needs a bearer token")),
            Self::Admin { .. } => Ok(Reach::All),
            Self::Organizer { path, .. } => Ok(Reach::Within(path.clone())),
            Self::Volunteer { volunteer_id, .. } => Ok(Reach::Volunteer(*volunteer_id)),
        }
    }

    /// What non-public data the caller may read.
    pub fn visibility(&self) -> Visibility {
        match self {
            Self::Anonymous | Self::Volunteer { .. } => Visibility::Public,
            Self::Admin { .. } => Visibility::All,
            Self::Organizer { path, .. } => Visibility::PublicOrWithin(path.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_only_as_digests() {
        let a = generate();
        let b = generate();
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with(TOKEN_PREFIX));
        assert_eq!(a.token.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(a.hash, digest(&a.token));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.token));
        assert!(a.token.starts_with(&a.prefix));
    }

    #[test]
    fn feed_tokens_are_random_hex_of_one_length() {
        let (a, b) = (feed_token(), feed_token());
        assert_ne!(a, b);
        assert!(is_feed_token(&a) && is_feed_token(&b));
        assert!(!is_feed_token(&a[1..]));
        assert!(!is_feed_token(
            &a.to_uppercase().replace(|c: char| c.is_ascii_digit(), "A")
        ));
        assert!(!is_feed_token("../../../../etc/passwd/0123456789ab"));
    }

    #[test]
    fn an_organizer_manages_its_subtree_only() {
        let organizer = Actor::Organizer {
            token_id: 1,
            organization_id: 4,
            path: "/1/4/".to_owned(),
        };
        assert!(organizer.manages("/1/4/"));
        assert!(organizer.manages("/1/4/17/"));
        assert!(!organizer.manages("/1/"));
        assert!(!organizer.manages("/1/44/"));
        assert!(matches!(organizer.require_admin(), Err(Error::Forbidden(_))));
        assert!(matches!(
            Actor::Anonymous.require_admin(),
            Err(Error::Unauthenticated(_))
        ));
    }
}
