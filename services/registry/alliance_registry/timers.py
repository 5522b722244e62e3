"""The registry's timer jobs.

``announce_due_transfers``: a floating Party member six calendar months past arrival without a
transfer (``domain.membership.transfer_due_on``, set when the member was registered) is announced
once by ``floating_member_transfer_due``. Claiming the members and announcing them share one
transaction, and the claim skips rows another instance is claiming, so each member is announced
once however many instances run; at most ``TRANSFER_BATCH`` per run, the rest on the next.
"""

from dataclasses import replace

from alliance_platform.identity import ALL_DISTRICTS, Identity

from . import storage, use_cases
from .domain.days import today

# The registry's own identity, for the changes its timers make.
REGISTRY = Identity("registry", "system", roles=frozenset({"system"}), districts=frozenset({ALL_DISTRICTS}))
TRANSFER_BATCH = 500


def announce_due_transfers(ctx):
    """Announce the floating members due for transfer; returns how many were announced."""
    ctx = replace(ctx, caller=REGISTRY)
    due = storage.claim_due_transfers(ctx.session, today(ctx.now), ctx.now, TRANSFER_BATCH)
    for member in due:
        use_cases.announce_transfer_due(ctx, member)
    return len(due)
