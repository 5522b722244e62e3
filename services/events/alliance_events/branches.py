"""The Party branches and their members, as the registry keeps them: the events service asks the
registry over RPC (``list_organisations``, ``resolve_audience``) rather than keeping a copy — the
register is the registry's, and organisations may be added, renamed or retired there.

Use cases take a ``branches`` object with the methods of ``RegistryBranches``; tests hand them one
of their own over a dictionary.
"""

PARTY_BRANCH = "party_branch"  # the registry's organisation type (alliance_contracts.registry)
RETIRED = "retired"  # a branch the registry retired holds no more meetings
# Members asked per registry call (its largest audience page).
PAGE = 1000


class RegistryBranches:
    def __init__(self, registry_rpc):
        self.registry_rpc = registry_rpc

    def all(self, include_retired=False):
        """Every Party branch in use (and the retired ones too if asked):
        ``{"id", "name", "district_id", "retired"}``, by id."""
        found = self.registry_rpc.list_organisations(type=PARTY_BRANCH, include_retired=include_retired)
        return sorted(
            (
                {
                    "id": o["id"],
                    "name": o["name"],
                    "district_id": o.get("district_id"),
                    "retired": o.get("status") == RETIRED,
                }
                for o in found
                if include_retired or o.get("status") != RETIRED
            ),
            key=lambda b: b["id"],
        )

    def get(self, branch_id, include_retired=False):
        """The branch ``branch_id`` (None if the register has none, or only a retired one and
        ``include_retired`` is false)."""
        return next((b for b in self.all(include_retired) if b["id"] == branch_id), None)

    def members(self, branch_id, at_most):
        """The person ids of the branch's Party members, at most ``at_most`` + 1 (to tell too many)."""
        ids, cursor = [], None
        while len(ids) <= at_most:
            page = self.registry_rpc.resolve_audience(branch_id=branch_id, limit=PAGE, cursor=cursor)
            ids += [str(c["person_id"] or c["id"]) for c in page["contacts"] if c["kind"] == "person"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        return ids[: at_most + 1]

    def unknown_people(self, person_ids):
        """Those of ``person_ids`` the register has no person for."""
        return [str(i) for i in self.registry_rpc.resolve_audience(person_ids=list(person_ids))["unknown_ids"]]
