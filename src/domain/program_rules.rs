//! Who may add what to whose program. In a "1+N" program the host (市科协) owns the program and
//! the participating associations (县区科协, 市级学会: those expected to submit a preparation
//! plan) run series activities in it, at their own venues, at venues nobody owns, or at venues
//! their owner shares. Organizations are compared by their materialized paths: an organizer
//! manages its organization and everything below it.

/// An organizer's organization as the rules see it.
#[derive(Clone, Copy, Debug)]
pub struct Organizer<'a> {
    /// Its id.
    pub id: i64,
    /// Its path (`/1/4/`).
    pub path: &'a str,
}

impl Organizer<'_> {
    /// Whether the organization at `path` is this one or lies below it.
    pub fn manages(&self, path: &str) -> bool {
        path.starts_with(self.path)
    }
}

/// Why an organizer may not do what it asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Its organization neither hosts nor takes part in the program.
    NotInProgram,
    /// A participant adds activities as itself only.
    NotItself,
    /// The activity would belong to an organization it does not manage.
    NotManaged,
    /// The venue is another organization's and not shared.
    VenueNotShared,
}

impl Refusal {
    /// The rule, as the 403 states it.
    pub fn rule(self) -> &'static str {
        match self {
            Self::NotInProgram => {
                "an organizer adds activities only to programs its organization hosts or takes part in \
                 (the organizations expected to submit a preparation plan)"
            }
            Self::NotItself => "an organization taking part in another's program adds activities as itself",
            Self::NotManaged => "an activity belongs to the organizer's own organization or one below it",
            Self::VenueNotShared => {
                "sessions take place at venues the organizer's organization owns, venues no organization \
                 owns, or venues their owner has marked shared"
            }
        }
    }
}

/// Whether `caller` may add an activity, organized by the organization at `activity_path`
/// (id `activity_organization`), to a program hosted at `host_path`. The host's managers may
/// give the activity to any organization they manage; a participant only to itself.
pub fn may_add_activity(
    caller: Organizer<'_>,
    host_path: &str,
    caller_participates: bool,
    activity_organization: i64,
    activity_path: &str,
) -> Result<(), Refusal> {
    if caller.manages(host_path) {
        return if caller.manages(activity_path) {
            Ok(())
        } else {
            Err(Refusal::NotManaged)
        };
    }
    if !caller_participates {
        return Err(Refusal::NotInProgram);
    }
    if activity_organization == caller.id {
        Ok(())
    } else {
        Err(Refusal::NotItself)
    }
}

/// Whether `caller` may schedule a session at a venue owned by the organization at
/// `owner_path` (none for a venue nobody owns), which its owner may have `shared`.
pub fn may_use_venue(caller: Organizer<'_>, owner_path: Option<&str>, shared: bool) -> Result<(), Refusal> {
    match owner_path {
        None => Ok(()),
        Some(_) if shared => Ok(()),
        Some(path) if caller.manages(path) => Ok(()),
        Some(_) => Err(Refusal::VenueNotShared),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CITY: Organizer<'static> = Organizer { id: 3, path: "/1/3/" };
    const HAIZHOU: Organizer<'static> = Organizer { id: 4, path: "/1/3/4/" };

    #[test]
    fn the_host_adds_activities_for_any_organization_below_it() {
        assert_eq!(may_add_activity(CITY, "/1/3/", false, 4, "/1/3/4/"), Ok(()));
        assert_eq!(may_add_activity(CITY, "/1/3/", false, 3, "/1/3/"), Ok(()));
        assert_eq!(
            may_add_activity(CITY, "/1/3/", false, 9, "/1/9/"),
            Err(Refusal::NotManaged)
        );
    }

    #[test]
    fn a_participant_adds_activities_as_itself_only() {
        assert_eq!(may_add_activity(HAIZHOU, "/1/3/", true, 4, "/1/3/4/"), Ok(()));
        assert_eq!(
            may_add_activity(HAIZHOU, "/1/3/", true, 17, "/1/3/4/17/"),
            Err(Refusal::NotItself)
        );
        assert_eq!(
            may_add_activity(HAIZHOU, "/1/3/", true, 5, "/1/3/5/"),
            Err(Refusal::NotItself)
        );
    }

    #[test]
    fn an_organization_outside_the_program_adds_nothing() {
        assert_eq!(
            may_add_activity(HAIZHOU, "/1/3/5/", false, 4, "/1/3/4/"),
            Err(Refusal::NotInProgram)
        );
    }

    #[test]
    fn venues_are_ones_own_ownerless_or_shared() {
        assert_eq!(may_use_venue(HAIZHOU, Some("/1/3/4/"), false), Ok(()));
        assert_eq!(may_use_venue(HAIZHOU, Some("/1/3/4/17/"), false), Ok(()));
        assert_eq!(may_use_venue(HAIZHOU, None, false), Ok(()));
        assert_eq!(may_use_venue(HAIZHOU, Some("/1/3/"), true), Ok(()));
        assert_eq!(
            may_use_venue(HAIZHOU, Some("/1/3/"), false),
            Err(Refusal::VenueNotShared)
        );
        assert_eq!(
            may_use_venue(HAIZHOU, Some("/1/3/5/"), false),
            Err(Refusal::VenueNotShared)
        );
    }
}
