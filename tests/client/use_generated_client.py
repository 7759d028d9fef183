"""Uses a Python client generated from sciday's OpenAPI document against a running server.

    python use_generated_client.py GENERATED_DIR BASE_URL ADMIN_TOKEN

GENERATED_DIR is what `openapi-python-client generate` wrote (it holds `sciday_client`).
The script builds a small piece of the Lianyungang 2019 program the way an integrator would:
the city association, a venue, the program, an activity, a session on 30 May, a role, a
volunteer and an assignment, and checks every answer. It exits non-zero at the first thing
that does not work, saying what.
"""

import datetime
import sys


def main(generated_dir: str, base_url: str, token: str) -> None:
    sys.path.insert(0, generated_dir)
    from sciday_client import AuthenticatedClient
    from sciday_client.api.activities import create_activity
    from sciday_client.api.organizations import create_organization
    from sciday_client.api.programs import create_program, get_program
    from sciday_client.api.sessions import create_session, list_sessions
    from sciday_client.api.staffing import create_assignment, create_role, list_assignments, service_hours
    from sciday_client.api.venues import create_venue
    from sciday_client.api.volunteers import create_volunteer
    from sciday_client.models import (
        ActivityIn,
        ActivityKind,
        AssignmentIn,
        AssignmentOut,
        AssignmentStatus,
        OrganizationIn,
        OrganizationKind,
        OrganizationOut,
        ProgramIn,
        ProgramOut,
        RoleIn,
        SessionIn,
        SessionOut,
        VenueIn,
        VenueKind,
        VolunteerIn,
    )

    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)

    def created(reply, kind):
        assert reply.status_code == 201, f"{kind}: {reply.status_code} {reply.content!r}"
        assert isinstance(reply.parsed, kind), f"{kind}: parsed as {type(reply.parsed)}"
        return reply.parsed

    city = created(
        create_organization.sync_detailed(
            client=client,
            body=OrganizationIn(
                kind=OrganizationKind.CITY_ASSOCIATION, name="连云港市科学技术协会", short_name="市科协"
            ),
        ),
        OrganizationOut,
    )
    assert city.name == "连云港市科学技术协会", city

    venue = created(
        create_venue.sync_detailed(
            client=client,
            body=VenueIn(
                name="连云港市科技馆",
                kind=VenueKind.OTHER,
                time_zone="Asia/Shanghai",
                organization_id=city.id,
                address="连云港市海州区",
            ),
        ),
        object,
    )

    program = created(
        create_program.sync_detailed(
            client=client,
            body=ProgramIn(
                name="2019年全国科技工作者日系列活动",
                theme="礼赞共和国、追梦新时代——科技志愿服务行动",
                time_zone="Asia/Shanghai",
                host_organization_id=city.id,
                # A local time, read in the program's zone.
                plan_deadline=datetime.datetime(2019, 5, 17, 23, 59, 59),
            ),
        ),
        ProgramOut,
    )
    assert program.plan_deadline == datetime.datetime(2019, 5, 17, 23, 59, 59, tzinfo=shanghai), program
    read = get_program.sync(client=client, id=program.id)
    assert isinstance(read, ProgramOut) and read.name == program.name, read

    activity = created(
        create_activity.sync_detailed(
            client=client,
            body=ActivityIn(
                program_id=program.id,
                kind=ActivityKind.SERIES,
                title="科技工作者志愿服务在行动",
                organization_id=city.id,
                service_kinds=["科学普及"],
            ),
        ),
        object,
    )

    # 30 May, National S&T Workers' Day: a local start and an end with its offset.
    session = created(
        create_session.sync_detailed(
            client=client,
            body=SessionIn(
                activity_id=activity.id,
                venue_id=venue.id,
                starts_at=datetime.datetime(2019, 5, 30, 9, 0),
                ends_at=datetime.datetime(2019, 5, 30, 11, 30, tzinfo=shanghai),
            ),
        ),
        SessionOut,
    )
    assert session.starts_at == datetime.datetime(2019, 5, 30, 9, 0, tzinfo=shanghai), session.starts_at
    assert session.ends_at == datetime.datetime(2019, 5, 30, 11, 30, tzinfo=shanghai), session.ends_at
    assert session.time_zone == "Asia/Shanghai", session.time_zone

    on_the_day = list_sessions.sync(
        client=client,
        program_id=program.id,
        from_=datetime.datetime(2019, 5, 30, tzinfo=shanghai),
        to=datetime.datetime(2019, 5, 31, tzinfo=shanghai),
    )
    assert [s.id for s in on_the_day.data] == [session.id], on_the_day

    role = created(
        create_role.sync_detailed(client=client, body=RoleIn(session_id=session.id, name="讲解员", needed=2)),
        object,
    )

    volunteer = created(
        create_volunteer.sync_detailed(
            client=client,
            body=VolunteerIn(name="张伟", organization_id=city.id, mobile="13800001234", tags=["科普专家"]),
        ),
        object,
    )
    assert volunteer.mobile == "13800001234", volunteer

    assignment = created(
        create_assignment.sync_detailed(client=client, body=AssignmentIn(role_id=role.id, volunteer_id=volunteer.id)),
        AssignmentOut,
    )
    assert assignment.session_id == session.id, assignment
    assert assignment.status == AssignmentStatus.PROPOSED, assignment.status

    listed = list_assignments.sync(client=client, session_id=session.id)
    assert [a.id for a in listed.data] == [assignment.id], listed

    hours = service_hours.sync(client=client, program_id=program.id, from_=datetime.date(2019, 5, 30), to=datetime.date(2019, 5, 31))
    assert hours.data == [], hours

    print("the generated client created a program, an activity, a session on 30 May, a volunteer and an assignment")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
