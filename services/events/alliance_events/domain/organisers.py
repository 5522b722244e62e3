"""Who organises activities and may manage one: staff, branch secretaries, internal systems and
administrators (never a merchant), for an activity one of whose organisers is in their districts —
or that they created."""

from alliance_platform.errors import Forbidden

# The roles that organise and manage activities (what the service's managing methods allow).
MANAGERS = ("admin", "staff", "branch_secretary", "system")


def actor(caller):
    """How a caller is named in what it did (an activity's ``created_by``, a nomination's ``nominated_by``)."""
    return f"{caller.kind}:{caller.subject}"


def _organises(caller):
    return caller.has_any_role(MANAGERS) and caller.kind != "merchant"


def require_organiser(caller, organisers):
    """A new activity's organisers: the caller organises for one of them at least."""
    if not _organises(caller):
        raise Forbidden("only staff and administrators organise activities")
    if not any(caller.covers_district(organiser) for organiser in organisers):
        raise Forbidden(f"{actor(caller)} organises for none of {organisers}")


def may_manage(caller, activity):
    if not _organises(caller):
        return False
    return any(caller.covers_district(o) for o in activity["organisers"]) or activity["created_by"] == actor(caller)


def require_manager(caller, activity):
    if not may_manage(caller, activity):
        raise Forbidden(f"only the organisers of {activity['title']} or an administrator may do this")
