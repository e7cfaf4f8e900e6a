"""Merged chat ids (aliases) as a sync sees them: known ids that belong to a survivor.

After a merge, the merged chat's id names the surviving contact. A sync must never
create a contact for it, must count the survivor as present while any of its chat
ids is in the payload, and must not rename the survivor from the merged chat's name
(the survivor's own chat names it; the alias only remembers its chat's last name).
The stores do this around ``rules.plan_sync``, which stays as it is:

- ``with_aliases``: the stored state with each alias as a known id (its remembered
  name; vanished when its survivor is), so the plan never makes it a new contact;
- ``resolve_aliases``: the wa_ids the plan asks to mark vanished or back again,
  turned into the survivors' own: an alias coming back brings its survivor back; a
  survivor vanishes only when every alias of it vanishes too; aliases themselves
  are no rows to mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from wa_manager.domain.model import StoredContacts


class StoredAlias(NamedTuple):
    """A merged chat id, its remembered name, its survivor's wa_id, whether that vanished."""

    wa_id: str
    name: str | None
    survivor_wa_id: str
    survivor_vanished: bool


def with_aliases(state: StoredContacts, aliases: Iterable[StoredAlias]) -> StoredContacts:
    """``state`` with the aliases added as known ids after the contacts (``state``
    itself when there are none, so its columns stay as the store read them)."""
    aliases = list(aliases)
    if not aliases:
        return state
    wa_ids, names, vanished = state
    return StoredContacts(
        [*wa_ids, *(alias.wa_id for alias in aliases)],
        [*names, *(alias.name for alias in aliases)],
        vanished | {alias.wa_id for alias in aliases if alias.survivor_vanished},
    )


def resolve_aliases(
    wa_ids: Sequence[str], aliases: Iterable[StoredAlias], *, vanishing: bool
) -> list[str]:
    """The contacts' own wa_ids for a list the plan made with aliases in it.

    ``vanishing`` (the ids missing from the payload): aliases dropped, and a survivor
    kept out while one of its aliases is not in the list (that chat was present).
    Otherwise (ids back in the payload): each alias becomes its survivor.
    """
    survivor_of = {alias.wa_id: alias.survivor_wa_id for alias in aliases}
    if not vanishing:
        return list(dict.fromkeys(survivor_of.get(wa_id, wa_id) for wa_id in wa_ids))
    listed = set(wa_ids)
    present = {survivor for alias, survivor in survivor_of.items() if alias not in listed}
    return [wa_id for wa_id in wa_ids if wa_id not in survivor_of and wa_id not in present]
