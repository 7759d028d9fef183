//! `sciday token create|list|revoke`: bearer tokens from the command line, for the first admin
//! token of a deployment and for whoever keeps it running.

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Subcommand, ValueEnum};
use entity::kinds::Role;

use super::{describe, find_organization, find_volunteer, open_existing};
use crate::clock::{Clock, SystemClock};
use crate::db::DatabaseUrl;
use crate::store::audit::{Audit, Author};
use crate::store::tokens::{self, Grant};
use crate::store::{PageRequest, organizations};

/// What `sciday token` does.
#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Creates a token and prints it once, alone on the last line.
    Create {
        /// What the token may do.
        #[arg(long, value_enum, env = "SCIDAY_TOKEN_ROLE")]
        role: RoleArg,
        /// For organizers: the organization's id or key.
        #[arg(long, env = "SCIDAY_TOKEN_ORGANIZATION")]
        organization: Option<String>,
        /// For volunteers: the volunteer's id or key.
        #[arg(long, env = "SCIDAY_TOKEN_VOLUNTEER")]
        volunteer: Option<String>,
        /// A name to recognize the token by.
        #[arg(long, env = "SCIDAY_TOKEN_NAME")]
        name: Option<String>,
        /// When it stops working (RFC 3339, e.g. 2019-06-01T00:00:00+08:00); never by default.
        #[arg(long, env = "SCIDAY_TOKEN_EXPIRES_AT", conflicts_with = "expires_in_days")]
        expires_at: Option<DateTime<Utc>>,
        /// Days from now until it stops working.
        #[arg(long, env = "SCIDAY_TOKEN_EXPIRES_IN_DAYS", value_parser = clap::value_parser!(u16).range(1..=3650))]
        expires_in_days: Option<u16>,
    },
    /// Lists tokens: id, role, scope, name, prefix, expiry, last use and state.
    List {
        /// Also list revoked and expired tokens.
        #[arg(long)]
        all: bool,
    },
    /// Revokes a token by id: it answers 401 from the next request on.
    Revoke {
        /// The token's id, as `sciday token list` shows it.
        id: i64,
    },
}

/// A token's role on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum RoleArg {
    Admin,
    Organizer,
    Volunteer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Self::Admin,
            RoleArg::Organizer => Self::Organizer,
            RoleArg::Volunteer => Self::Volunteer,
        }
    }
}

/// Runs a `sciday token` command.
pub(super) async fn run(url: &DatabaseUrl, command: TokenCommand) -> anyhow::Result<()> {
    let db = open_existing(url).await?;
    let now = SystemClock.now();
    match command {
        TokenCommand::Create {
            role,
            organization,
            volunteer,
            name,
            expires_at,
            expires_in_days,
        } => {
            let txn = db.begin().await?;
            let organization_id = match organization {
                Some(given) => Some(find_organization(&txn, &given).await?),
                None => None,
            };
            let volunteer_id = match volunteer {
                Some(given) => Some(find_volunteer(&txn, &given).await?),
                None => None,
            };
            let role = Role::from(role);
            let grant = Grant {
                name: name.unwrap_or_else(|| format!("{role:?} token").to_lowercase()),
                role,
                organization_id,
                volunteer_id,
                expires_at: expires_at.or(expires_in_days.map(|days| now + TimeDelta::days(i64::from(days)))),
            };
            let (row, secret) = tokens::create(&txn, grant, now).await.map_err(|e| describe(&e))?;
            Audit::new(Author::cli(), now)
                .created(&txn, &row)
                .await
                .map_err(|e| describe(&e))?;
            txn.commit().await?;
            let until = row
                .expires_at
                .map_or_else(String::new, |at| format!(", valid until {}", at.to_rfc3339()));
            eprintln!(
                "created {} token {} ({:?}{until}); it is shown only now:",
                row.name, row.id, row.role
            );
            println!("{secret}");
        }
        TokenCommand::List { all } => {
            let rows = every_token(&db).await?;
            let names = organizations::names(
                db.reader(),
                &rows.iter().filter_map(|t| t.organization_id).collect::<Vec<_>>(),
            )
            .await
            .map_err(|e| describe(&e))?;
            println!("id\trole\tscope\tname\tprefix\texpires\tlast used\tstate");
            for token in rows.iter().filter(|t| all || tokens::state(t, now) == "active") {
                let scope = match (token.organization_id, token.volunteer_id) {
                    (Some(id), _) => names.get(&id).cloned().unwrap_or_else(|| format!("organization {id}")),
                    (_, Some(id)) => format!("volunteer {id}"),
                    _ => "everything".to_owned(),
                };
                let when = |at: Option<DateTime<Utc>>| at.map_or_else(|| "-".to_owned(), |at| at.to_rfc3339());
                println!(
                    "{}\t{:?}\t{scope}\t{}\t{}…\t{}\t{}\t{}",
                    token.id,
                    token.role,
                    token.name,
                    token.prefix,
                    when(token.expires_at),
                    when(token.last_used_at),
                    tokens::state(token, now)
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let txn = db.begin().await?;
            let (before, row) = tokens::revoke(&txn, id, now).await.map_err(|e| describe(&e))?;
            Audit::new(Author::cli(), now)
                .acted(&txn, "revoke", &before, &row)
                .await
                .map_err(|e| describe(&e))?;
            txn.commit().await?;
            eprintln!("token {} ({}) is revoked", row.id, row.name);
        }
    }
    db.close().await?;
    Ok(())
}

/// Every token, page by page, in id order.
async fn every_token(db: &crate::db::Db) -> anyhow::Result<Vec<entity::api_token::Model>> {
    let mut rows = Vec::new();
    let mut page = PageRequest {
        limit: 500,
        after: None,
    };
    loop {
        let found = tokens::list(db.reader(), &page).await.map_err(|e| describe(&e))?;
        rows.extend(found.items);
        match found.next {
            Some(next) => page.after = Some(next),
            None => return Ok(rows),
        }
    }
}
