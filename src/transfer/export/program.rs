//! `sciday export --program ID`: one program and everything its records refer to.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::transfer::format::Document;

/// Keeps program `id`, its activities, sessions (and the remote slots they follow, with
/// those slots' activities and programs), roles, assignments, plans, extensions and the
/// subscriptions scoped to it or its activities with their outbox; then the volunteers,
/// teams, venues, tokens and organizations those refer to, parents included.
pub(super) fn only(document: Document, id: i64) -> Result<Document> {
    let program = document
        .programs
        .iter()
        .find(|p| p.stored.is_some_and(|s| s.id == id))
        .ok_or(Error::NotFound("program"))?
        .key
        .clone();
    let mut programs = HashSet::from([program.clone()]);
    let mut activities: HashSet<String> = document
        .activities
        .iter()
        .filter(|a| a.program == program)
        .map(|a| a.key.clone())
        .collect();
    let mut sessions: HashSet<String> = document
        .sessions
        .iter()
        .filter(|s| activities.contains(&s.activity))
        .map(|s| s.key.clone())
        .collect();
    let own_activities = activities.clone();
    // The slots followed, and the slots those follow: one pass over the sessions per link in
    // the longest chain.
    loop {
        let followed: HashSet<&str> = document
            .sessions
            .iter()
            .filter(|s| sessions.contains(&s.key))
            .filter_map(|s| s.linked_session.as_deref())
            .filter(|key| !sessions.contains(*key))
            .collect();
        if followed.is_empty() {
            break;
        }
        for slot in document.sessions.iter().filter(|s| followed.contains(s.key.as_str())) {
            sessions.insert(slot.key.clone());
            activities.insert(slot.activity.clone());
        }
    }
    for a in document.activities.iter().filter(|a| activities.contains(&a.key)) {
        programs.insert(a.program.clone());
    }
    let roles: HashSet<String> = document
        .session_roles
        .iter()
        .filter(|r| sessions.contains(&r.session))
        .map(|r| r.key.clone())
        .collect();
    let assignments: Vec<_> = document
        .assignments
        .iter()
        .filter(|a| roles.contains(&a.role))
        .cloned()
        .collect();
    let token_ids: HashSet<i64> = assignments
        .iter()
        .filter_map(|a| a.overridden.as_ref().and_then(|o| o.by))
        .collect();
    let api_tokens: Vec<_> = document
        .api_tokens
        .iter()
        .filter(|t| token_ids.contains(&t.id))
        .cloned()
        .collect();
    let mut volunteers: HashSet<String> = assignments.iter().map(|a| a.volunteer.clone()).collect();
    volunteers.extend(api_tokens.iter().filter_map(|t| t.volunteer.clone()));
    let webhooks: Vec<_> = document
        .webhooks
        .iter()
        .filter(|w| match w.scope.kind {
            entity::kinds::WebhookScope::Program => w.scope.key == program,
            entity::kinds::WebhookScope::Activity => own_activities.contains(&w.scope.key),
            _ => false,
        })
        .cloned()
        .collect();
    let webhook_keys: HashSet<String> = webhooks.iter().map(|w| w.key.clone()).collect();
    let plans: Vec<_> = document
        .plans
        .iter()
        .filter(|p| p.program == program)
        .cloned()
        .collect();

    let mut teams: HashSet<String> = document
        .session_roles
        .iter()
        .filter(|r| roles.contains(&r.key))
        .filter_map(|r| r.team.clone())
        .collect();
    for v in document.volunteers.iter().filter(|v| volunteers.contains(&v.key)) {
        teams.extend(v.teams.iter().map(|m| m.team.clone()));
    }
    let team_parents: HashMap<&str, &str> = document
        .teams
        .iter()
        .filter_map(|t| Some((t.key.as_str(), t.parent.as_deref()?)))
        .collect();
    close_over(&mut teams, &team_parents);
    let mut venues: HashSet<String> = document
        .sessions
        .iter()
        .filter(|s| sessions.contains(&s.key))
        .map(|s| s.venue.clone())
        .collect();
    venues.extend(plans.iter().map(|p| p.venue.clone()));

    let mut organizations: HashSet<String> = HashSet::new();
    organizations.extend(
        document
            .programs
            .iter()
            .filter(|p| programs.contains(&p.key))
            .map(|p| p.host_organization.clone()),
    );
    organizations.extend(
        document
            .activities
            .iter()
            .filter(|a| activities.contains(&a.key))
            .map(|a| a.organization.clone()),
    );
    organizations.extend(
        document
            .venues
            .iter()
            .filter(|v| venues.contains(&v.key))
            .filter_map(|v| v.organization.clone()),
    );
    organizations.extend(
        document
            .teams
            .iter()
            .filter(|t| teams.contains(&t.key))
            .map(|t| t.organization.clone()),
    );
    organizations.extend(
        document
            .volunteers
            .iter()
            .filter(|v| volunteers.contains(&v.key))
            .map(|v| v.organization.clone()),
    );
    organizations.extend(plans.iter().map(|p| p.organization.clone()));
    organizations.extend(webhooks.iter().map(|w| w.organization.clone()));
    organizations.extend(api_tokens.iter().filter_map(|t| t.organization.clone()));
    let extensions: Vec<_> = document
        .plan_extensions
        .iter()
        .filter(|e| e.program == program)
        .cloned()
        .collect();
    organizations.extend(extensions.iter().map(|e| e.organization.clone()));
    let organization_parents: HashMap<&str, &str> = document
        .organizations
        .iter()
        .filter_map(|o| Some((o.key.as_str(), o.parent.as_deref()?)))
        .collect();
    close_over(&mut organizations, &organization_parents);

    Ok(Document {
        format: document.format,
        notes: document.notes,
        organizations: keep(document.organizations, |o| organizations.contains(&o.key)),
        venues: keep(document.venues, |v| venues.contains(&v.key)),
        programs: keep(document.programs, |p| programs.contains(&p.key)),
        activities: keep(document.activities, |a| activities.contains(&a.key)),
        sessions: keep(document.sessions, |s| sessions.contains(&s.key)),
        teams: keep(document.teams, |t| teams.contains(&t.key)),
        volunteers: keep(document.volunteers, |v| volunteers.contains(&v.key)),
        session_roles: keep(document.session_roles, |r| roles.contains(&r.key)),
        deliveries: keep(document.deliveries, |d| webhook_keys.contains(&d.webhook)),
        session_changes: keep(document.session_changes, |c| {
            sessions.contains(&c.session) && venues.contains(&c.old.venue) && venues.contains(&c.new.venue)
        }),
        assignments,
        api_tokens,
        plans,
        plan_extensions: extensions,
        webhooks,
        // The trail names records by id across every program: it belongs to whole backups.
        audit_entries: Vec::new(),
    })
}

fn keep<T>(records: Vec<T>, wanted: impl Fn(&T) -> bool) -> Vec<T> {
    records.into_iter().filter(|r| wanted(r)).collect()
}

/// Adds every parent of every member, up to the roots (`parents`: each key's parent).
fn close_over(set: &mut HashSet<String>, parents: &HashMap<&str, &str>) {
    let mut pending: Vec<String> = set.iter().cloned().collect();
    while let Some(key) = pending.pop() {
        if let Some(up) = parents.get(key.as_str())
            && set.insert((*up).to_owned())
        {
            pending.push((*up).to_owned());
        }
    }
}
