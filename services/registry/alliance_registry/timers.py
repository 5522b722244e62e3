"""The registry's timer jobs.

``announce_due_transfers``: a floating Party member six calendar months past arrival without a
transfer (``domain.membership.transfer_due_on``, set when the member was registered) is announced
once by ``floating_member_transfer_due``. Claiming the members and announcing them share one
transaction, and the claim skips rows another instance is claiming, so each member is announced
once however many instances run; at most ``TRANSFER_BATCH`` per run, the rest on the next.

``purge_sign_ins``: the sign-in requests older than every limit's window, and the codes expired
more than ``CODES_KEPT`` ago (till then ``sign_in`` says "expired" rather than "no code"), are
deleted; instances purging side by side delete the same rows at most once.
"""

from dataclasses import replace
from datetime import timedelta

from alliance_platform.identity import ALL_DISTRICTS, Identity

from . import storage, use_cases
from .domain.days import today

# The registry's own identity, for the changes its timers make.
REGISTRY = Identity("registry", "system", roles=frozenset({"system"}), districts=frozenset({ALL_DISTRICTS}))
TRANSFER_BATCH = 500
CODES_KEPT = timedelta(days=1)


def announce_due_transfers(ctx):
    """Announce the floating members due for transfer; returns how many were announced."""
    ctx = replace(ctx, caller=REGISTRY)
    due = storage.claim_due_transfers(ctx.session, today(ctx.now), ctx.now, TRANSFER_BATCH)
    for member in due:
        use_cases.announce_transfer_due(ctx, member)
    return len(due)


def purge_sign_ins(ctx):
    """Delete what no sign-in rule reads any more; returns how many rows went."""
    rules = ctx.settings.sign_in
    window = max(rules.mobile_window(), rules.client_window())
    return storage.purge_sign_ins(ctx.session, ctx.now - window, ctx.now - CODES_KEPT)
