"""The page ``/settings/duplicates`` (admins): **Possible duplicates**, and **Merge**.

Each pair of contacts the store suggests (``Identities.duplicates``) is a row with
the reason and both contacts; **Merge** opens a confirmation (``static/duplicates.js``)
in which the admin picks the contact that stays, sees who will see it afterwards
(the union of who could see either: linked users and teams' members), and confirms.
The merge goes through ``POST /api/contacts/{id}/merge`` with the CSRF token; the
page then goes to the survivor's row on Contact Links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from wa_manager.domain.model import Contact, DuplicateReason, Team, User
from wa_manager.entrypoints.http.auth import signed_in, wa_app
from wa_manager.entrypoints.http.pages import render

DUPLICATES_PATH = "/settings/duplicates"
ROWS_SHOWN = 500
REASON_LABELS = {
    DuplicateReason.SAME_PHONE: "Same phone number",
    DuplicateReason.BRAZIL_NINTH_DIGIT: "Brazilian mobile with and without the ninth digit",
    DuplicateReason.SAME_NAME_LID: "Same name, one a hidden-number (@lid) chat",
}


def viewers(
    contacts: Iterable[Contact], usernames: Mapping[int, str], teams: Mapping[int, Team]
) -> list[str]:
    """Who may see any of ``contacts`` (so: the survivor of their merge), as people read
    it: usernames, then ``team NAME`` for each linked team, sorted."""
    users: set[str] = set()
    team_names: set[str] = set()
    for contact in contacts:
        users.update(usernames[uid] for uid in contact.user_ids if uid in usernames)
        team_names.update(teams[tid].name for tid in contact.team_ids if tid in teams)
    return sorted(users, key=str.casefold) + [
        f"team {name}" for name in sorted(team_names, key=str.casefold)
    ]


@signed_in(login_redirect=True)
async def duplicates(request: Request, user: User) -> Response:
    """``/settings/duplicates``: the suggested pairs, each with **Merge**."""
    app = wa_app(request)
    found, users, teams = await run_in_threadpool(
        lambda: (app.identities.duplicates(user), app.accounts.users(user), app.teams.list(user))
    )
    usernames = {known.id: known.username for known in users}
    teams_by_id = {team.id: team for team in teams}
    return render(
        request,
        "settings_duplicates.html",
        active="duplicates",
        duplicates=found[:ROWS_SHOWN],
        total=len(found),
        reason_label=lambda reason: REASON_LABELS[DuplicateReason(reason)],
        viewers=lambda *contacts: viewers(contacts, usernames, teams_by_id),
    )


def duplicates_routes() -> list[BaseRoute]:
    """The page's one route."""
    return [Route(DUPLICATES_PATH, duplicates, methods=["GET"])]
