//! Who may call each operation and what it refuses, added to the operation's description in
//! the document. "Manager" means an admin, or an organizer of the record's organization or of
//! one above it. Every write needs a bearer token (401 without one, before anything else).

/// Operation id, who may call it, what it refuses.
const RULES: &[(&str, &str, &str)] = &[
    ("healthz", "Anyone.", "Nothing: it answers while the process runs."),
    ("readyz", "Anyone.", "503 when the database does not answer."),
    ("openapi_document", "Anyone.", "Nothing."),
    (
        "feed",
        "Anyone for program, activity, venue, organization and team feeds; whoever has the link for a personal feed.",
        "404 for a path that names no feed or a rotated personal link; 422 for a bad `from`, `to` or `alarms`.",
    ),
    // Organizations.
    (
        "list_organizations",
        "Anyone. Contact mobiles are masked except to those who manage the organization.",
        "422 for a bad filter or cursor.",
    ),
    (
        "create_organization",
        "Admins anywhere; organizers below their own organization.",
        "403 outside the caller's organization, or `plan_expected` from a non-admin; 409 for a key in use; 422 per field.",
    ),
    (
        "get_organization",
        "Anyone (the contact mobile masked except to its managers).",
        "404 for an unknown id.",
    ),
    (
        "update_organization",
        "Managers of the organization; `plan_expected` admins only. Needs `If-Match`.",
        "403; 409 when the move would make a loop; 412 stale version; 428 without `If-Match`; 422 per field.",
    ),
    (
        "delete_organization",
        "Managers of the organization.",
        "409 `in_use` naming every kind of record still referring to it.",
    ),
    // Venues.
    ("list_venues", "Anyone.", "422 for a bad filter or cursor."),
    (
        "create_venue",
        "Managers of `organization_id`; admins for venues of no organization.",
        "403; 409 for a key in use; 422 per field (an unknown time zone included).",
    ),
    ("get_venue", "Anyone.", "404 for an unknown id."),
    (
        "update_venue",
        "Managers of the venue's organization. Needs `If-Match`.",
        "403; 412 stale version; 428 without `If-Match`; 422 per field.",
    ),
    (
        "delete_venue",
        "Managers of the venue's organization.",
        "409 `in_use` while sessions or plans name it.",
    ),
    // Programs.
    ("list_programs", "Anyone.", "422 for a bad filter or cursor."),
    (
        "create_program",
        "Managers of the host organization.",
        "403; 409 for a key in use; 422 per field.",
    ),
    ("get_program", "Anyone.", "404 for an unknown id."),
    (
        "update_program",
        "Managers of the host. Needs `If-Match`. Moving the plan deadline remakes its reminders.",
        "403; 412; 428; 422 per field.",
    ),
    (
        "delete_program",
        "Managers of the host.",
        "409 `in_use` while it has activities, sessions or plans.",
    ),
    // Activities.
    (
        "list_activities",
        "Anyone; non-public activities only to their managers and admins.",
        "422 for a bad filter or cursor.",
    ),
    (
        "create_activity",
        "The host's managers, for any organization they manage; participating organizations (county associations below the host, flagged societies) as themselves.",
        "403 for a program the organization neither hosts nor takes part in; 409 for a key in use; 422 per field.",
    ),
    (
        "get_activity",
        "Anyone for public activities; managers and admins for the others.",
        "404 for an unknown or hidden id.",
    ),
    (
        "update_activity",
        "Managers of the activity's organization; handing it over follows the rules of creating. Needs `If-Match`.",
        "403; 412; 428; 422 per field.",
    ),
    (
        "delete_activity",
        "Managers of the activity's organization.",
        "409 `in_use` while it has live sessions or sessions with assignments.",
    ),
    // Sessions.
    (
        "list_sessions",
        "As activities: non-public sessions only to their managers and admins.",
        "422 for a bad filter, an instant without offset or a bad cursor.",
    ),
    (
        "create_session",
        "Managers of the activity's organization, at a venue it owns, an ownerless one or a shared one.",
        "403 for another organization's venue; 409 for a key in use or a link loop; 422 per field (a window that ends before it starts, a local time that does not exist in the zone, an unknown zone).",
    ),
    ("get_session", "As lists.", "404 for an unknown or hidden id."),
    (
        "update_session",
        "Managers of the activity's organization. Needs `If-Match`. Moving or cancelling a slot moves or cancels the sessions linked to it in the same transaction and flags the assignments that now clash.",
        "403; 409 for a link loop; 412; 428; 422 per field.",
    ),
    (
        "delete_session",
        "Managers of the activity's organization. Feeds keep showing it as cancelled for 30 days.",
        "409 `in_use` while other sessions link to it.",
    ),
    // Roles and assignments.
    ("list_roles", "As sessions.", "422 for a bad filter or cursor."),
    (
        "create_role",
        "Managers of the session's activity.",
        "403; 409 for a key in use; 422 per field.",
    ),
    ("get_role", "As sessions.", "404 for an unknown or hidden id."),
    (
        "update_role",
        "Managers of the session's activity. Needs `If-Match`.",
        "409 when it would need fewer volunteers than it holds; 412; 428; 422 per field.",
    ),
    (
        "delete_role",
        "Managers of the session's activity.",
        "409 `in_use` once anyone was assigned to it.",
    ),
    (
        "list_candidates",
        "Managers of the session's activity; an organizer sees only the volunteers of the organizations it manages.",
        "403; 404 for an unknown role; 422 for a bad `limit`.",
    ),
    (
        "list_assignments",
        "A token: admins all, organizers those of their sessions or volunteers, a volunteer its own.",
        "401 without a token; 422 for a bad filter or cursor.",
    ),
    (
        "create_assignment",
        "Managers of the session's activity and of the volunteer's organization; `override` admins only, with a reason.",
        "409 `assignment-refused` listing every broken rule (overlap with travel time, full role, team, qualification, unavailability, cancelled or finished session); 403; 422 per field.",
    ),
    (
        "create_assignments",
        "As one assignment; up to 500 items, each judged and committed on its own.",
        "422 for more than 500 items or a malformed item; refusals are answered per item.",
    ),
    (
        "get_assignment",
        "Admins; organizers of its session or volunteer; the volunteer.",
        "404 for an unknown or hidden id.",
    ),
    (
        "confirm_assignment",
        "The volunteer, or a manager. Confirming a confirmed assignment changes nothing.",
        "409 `invalid_transition` for a declined, cancelled, checked-in or no-show assignment.",
    ),
    (
        "decline_assignment",
        "The volunteer, or a manager, with a `reason` (请假). The seat is freed and subscribed chat groups are told.",
        "409 `invalid_transition` unless it is proposed or confirmed; 422 for a missing or bad reason.",
    ),
    (
        "cancel_assignment",
        "Managers. The seat is freed, the record kept, subscribed chat groups told.",
        "403 for volunteer tokens; 409 `invalid_transition` unless it is proposed or confirmed.",
    ),
    (
        "check_in",
        "The volunteer, or a manager, from an hour before the start until the end.",
        "409 `outside_check_in_window`, or `invalid_transition` unless it is proposed or confirmed.",
    ),
    (
        "mark_no_show",
        "Managers, once the session has started.",
        "403 for volunteer tokens; 409 `too_early` before the start, or `invalid_transition` unless it is proposed or confirmed.",
    ),
    (
        "service_hours",
        "A token: admins everyone, organizers their organizations' volunteers, a volunteer its own.",
        "401 without a token; 422 for a bad filter.",
    ),
    // Teams and volunteers.
    (
        "list_teams",
        "Anyone; `leader_ids` only to managers of the team's organization.",
        "422 for a bad filter or cursor.",
    ),
    (
        "create_team",
        "Managers of the team's organization and of the parent team's.",
        "403; 409 for a key in use; 422 per field.",
    ),
    (
        "get_team",
        "Anyone; `leader_ids` only to its managers.",
        "404 for an unknown id.",
    ),
    (
        "update_team",
        "Managers of the team's organization (and of a new parent's). Needs `If-Match`.",
        "403; 409 for a loop; 412; 428; 422 per field.",
    ),
    (
        "delete_team",
        "Managers of the team's organization.",
        "409 `in_use` while it has sub-teams, members or roles requiring it.",
    ),
    (
        "list_volunteers",
        "A token: admins all; organizers their organizations' volunteers and those serving at their sessions (mobile masked, no e-mail); a volunteer itself.",
        "401 without a token; 422 for a bad filter or cursor.",
    ),
    (
        "create_volunteer",
        "Managers of the volunteer's organization; joining a team needs its organization's manager.",
        "403; 409 for a key in use; 422 per field (mobile, e-mail, qualification days, unavailable times with offset).",
    ),
    (
        "get_volunteer",
        "As lists; contact details in full only to admins, organizers of its organization and the volunteer.",
        "404 for anyone else.",
    ),
    (
        "update_volunteer",
        "Managers of the volunteer's organization; lists given replace the stored ones. Needs `If-Match`.",
        "403; 412; 428; 422 per field.",
    ),
    (
        "delete_volunteer",
        "Managers of the volunteer's organization.",
        "409 `in_use` once assigned (assignments stay as history).",
    ),
    (
        "rotate_feed_token",
        "The volunteer, or those who manage them.",
        "403; 404 for a volunteer the caller may not see.",
    ),
    (
        "rotate_page_token",
        "The volunteer, or those who manage them.",
        "403; 404 for a volunteer the caller may not see.",
    ),
    (
        "page_links",
        "Managers of the team's organization; only members of organizations they manage are listed.",
        "401 without a token; 403 for other organizations' teams; 404 for an unknown team.",
    ),
    // Tokens.
    ("list_tokens", "Admins.", "403 for other tokens."),
    (
        "list_audit",
        "Admins every entry; organizers the entries of their organizations' records (and those below).",
        "403 for volunteer tokens; 422 for a bad `object`, `actor`, `action`, `from`, `to` or cursor.",
    ),
    (
        "create_token",
        "Admins any token; organizers volunteer tokens for their organizations' volunteers. The secret is shown once; only its digest is stored.",
        "403 for anything else; 422 per field.",
    ),
    (
        "revoke_token",
        "Admins. The token answers 401 from the next request on.",
        "403; 404 for an unknown id.",
    ),
    // Webhooks.
    (
        "list_webhooks",
        "Managers of the subscriptions' organizations.",
        "422 for a bad filter or cursor.",
    ),
    (
        "create_webhook",
        "Managers of `organization_id`, for a scope they may read in full.",
        "404 for a scope that does not exist or that the caller may not read; 422 for an address that is not the platform's, internal, or malformed, and per field.",
    ),
    ("get_webhook", "Managers of its organization.", "404 for anyone else."),
    (
        "update_webhook",
        "Managers of its organization; format and scope are fixed. Needs `If-Match`.",
        "412; 428; 422 per field.",
    ),
    (
        "delete_webhook",
        "Managers of its organization; the delivery log goes with it.",
        "404 for anyone else.",
    ),
    (
        "list_deliveries",
        "Those who see the subscription.",
        "404 for anyone else; 422 for a bad filter or cursor.",
    ),
    (
        "list_all_deliveries",
        "Admins (every subscription's messages); organizers (those of their organizations' subscriptions).",
        "401 without a token; 403 for a volunteer token; 422 for a bad filter or cursor.",
    ),
    (
        "get_delivery",
        "Those who see the subscription.",
        "404 for anyone else.",
    ),
    (
        "resend_delivery",
        "Those who see the subscription.",
        "409 `deadline_passed`, `withdrawn`, `in_flight` or `disabled` when it may not go.",
    ),
    (
        "test_webhook",
        "Those who see the subscription.",
        "404 for anyone else; the receiver's refusal is in the answer, not an error.",
    ),
    // Preparation plans.
    (
        "list_plans",
        "Admins all; organizers their own organization's plan.",
        "403 without; 422 for a bad filter or cursor.",
    ),
    (
        "submit_plan",
        "Admins; organizers for their own organization, which must be expected to submit.",
        "409 `already_submitted` or `deadline_passed` (the deadline's last second in the program's zone, or the extension); 403; 422 per field.",
    ),
    (
        "get_plan",
        "Admins; organizers of the submitting organization (not the association above it).",
        "403 for other organizers; 404 for an unknown id.",
    ),
    (
        "revise_plan",
        "As reading it; the whole form again. Needs `If-Match`.",
        "409 `deadline_passed` or `under_review`; 412; 428; 422 per field.",
    ),
    ("plan_revisions", "As reading the plan.", "403; 404."),
    (
        "review_plan",
        "Admins.",
        "409 `invalid_transition`, or `no_video_link`, `session_exists`, `no_slot` when the session cannot be made; 422 per field.",
    ),
    (
        "upload_attachment",
        "As revising the plan, within the same deadline; up to 20 MiB, twenty per plan.",
        "413 beyond 20 MiB; 409 `too_many_attachments` or `deadline_passed`; 422 `unsupported_content` for anything but a PDF or a .docx.",
    ),
    (
        "download_attachment",
        "Admins; organizers of the plan's organization.",
        "403 for other organizers; 404 for an unknown id.",
    ),
    ("missing_plans", "Admins.", "403 for other tokens."),
    ("export_plans", "Admins.", "403 for other tokens."),
    ("list_extensions", "Admins.", "403 for other tokens."),
    (
        "grant_extension",
        "Admins; `until` (a local time in the program's zone, or with an offset) after the program's deadline. 201 for a new extension, 200 for a changed one.",
        "403; 409 `no_deadline` for a program without one; 422 `not_after_deadline`.",
    ),
    (
        "revoke_extension",
        "Admins.",
        "403; 404 when the organization has no extension.",
    ),
];

/// Adds who may call each operation and what it refuses to its description.
pub fn add(document: &mut serde_json::Value) {
    for operation in super::json_operations(document) {
        let Some((_, who, refused)) = RULES
            .iter()
            .find(|(id, ..)| operation["operationId"].as_str() == Some(*id))
        else {
            continue;
        };
        let rules = format!("**Who may call it:** {who}\n\n**Refused:** {refused}");
        let description = match operation["description"].as_str() {
            Some(text) if !text.is_empty() => format!("{text}\n\n{rules}"),
            _ => rules,
        };
        operation["description"] = description.into();
    }
}
