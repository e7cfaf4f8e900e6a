"""The team administration API: changing users, one's own password, API tokens,
teams, the teams of a contact, and bulk linking (``docs/interface.md``).

Handlers call the use cases of ``App`` in the threadpool; the use cases decide
who may do what (``services/permissions.py``).
"""

from __future__ import annotations

from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import BulkLinkChange, ContactSelection, User
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.http.answers import answer
from wa_manager.entrypoints.http.auth import session_secret, wa_app
from wa_manager.entrypoints.http.inputs import (
    BulkLinkBody,
    ContactTeamsBody,
    NewTeamBody,
    NewTokenBody,
    PasswordChangeBody,
    TeamMembersBody,
    UserChangeBody,
    json_body,
    path_id,
)


async def change_user(request: Request, user: User) -> Response:
    """Change a user's role, access or password (409: it would leave no enabled admin)."""
    user_id = path_id(request, "user")
    body = await json_body(request, UserChangeBody)
    changed = await run_in_threadpool(
        partial(
            wa_app(request).accounts.change_user,
            user,
            user_id,
            role=body.role,
            disabled=body.disabled,
            password=body.password,
        )
    )
    return answer(shapes.User.of(changed))


async def change_my_password(request: Request, user: User) -> Response:
    """Change the caller's own password (422 when the current one is wrong)."""
    body = await json_body(request, PasswordChangeBody)
    await run_in_threadpool(
        wa_app(request).accounts.change_own_password,
        user,
        body.current_password,
        body.new_password,
        session_secret(request),
    )
    return Response(status_code=204)


async def list_tokens(request: Request, user: User) -> Response:
    """API tokens (never their secrets): admins see all, users their own."""
    found = await run_in_threadpool(wa_app(request).accounts.tokens, user)
    return answer(shapes.Items([shapes.Token.of(token, owner) for token, owner in found]))


async def create_token(request: Request, user: User) -> Response:
    """A new API token for the caller; its secret is in this answer only."""
    body = await json_body(request, NewTokenBody)
    token, secret = await run_in_threadpool(
        wa_app(request).accounts.issue_own_token, user, body.name
    )
    return answer(shapes.NewToken.of(token, secret), status=201)


async def revoke_token(request: Request, user: User) -> Response:
    """Revoke a token: one's own, or any for an admin (someone else's for a user: 404)."""
    token_id = path_id(request, "API token")
    await run_in_threadpool(wa_app(request).accounts.revoke_token, user, token_id)
    return Response(status_code=204)


async def list_teams(request: Request, user: User) -> Response:
    """Every team with its members."""
    found = await run_in_threadpool(wa_app(request).teams.list, user)
    return answer(shapes.Items([shapes.Team.of(team) for team in found]))


async def create_team(request: Request, user: User) -> Response:
    """Create a team (409 for a taken name)."""
    body = await json_body(request, NewTeamBody)
    team = await run_in_threadpool(wa_app(request).teams.add, user, body.name)
    return answer(shapes.Team.of(team), status=201)


async def set_team_members(request: Request, user: User) -> Response:
    """Make exactly these users the team's members."""
    team_id = path_id(request, "team")
    body = await json_body(request, TeamMembersBody)
    team = await run_in_threadpool(wa_app(request).teams.set_members, user, team_id, body.user_ids)
    return answer(shapes.Team.of(team))


async def get_contact_teams(request: Request, user: User) -> Response:
    """The teams linked to a contact."""
    contact_id = path_id(request, "contact")
    team_ids = await run_in_threadpool(wa_app(request).contacts.team_ids, user, contact_id)
    return answer(shapes.TeamIds(team_ids))


async def set_contact_teams(request: Request, user: User) -> Response:
    """Link exactly these teams to a contact."""
    contact_id = path_id(request, "contact")
    body = await json_body(request, ContactTeamsBody)
    team_ids = await run_in_threadpool(
        wa_app(request).contacts.set_teams, user, contact_id, body.team_ids
    )
    return answer(shapes.TeamIds(team_ids))


async def bulk_link(request: Request, user: User) -> Response:
    """Link or unlink users and teams on many contacts at once, in one transaction."""
    body = await json_body(request, BulkLinkBody)
    if (body.contact_ids is None) == (body.search is None):
        raise InvalidInput('give either "contact_ids" or "search" (with "vanished" if wanted)')
    if body.contact_ids is not None and (body.vanished, body.source) != (None, None):
        raise InvalidInput('"vanished" and "source" go with "search", not with "contact_ids"')
    selection = ContactSelection(
        contact_ids=tuple(body.contact_ids) if body.contact_ids is not None else None,
        search=body.search,
        vanished=body.vanished,
        source=body.source,
    )
    change = BulkLinkChange(
        add_user_ids=tuple(body.add_user_ids),
        remove_user_ids=tuple(body.remove_user_ids),
        add_team_ids=tuple(body.add_team_ids),
        remove_team_ids=tuple(body.remove_team_ids),
    )
    contacts, changed = await run_in_threadpool(
        wa_app(request).contacts.bulk_link, user, selection, change
    )
    return answer(shapes.BulkLinked(contacts=contacts, changed=changed))
