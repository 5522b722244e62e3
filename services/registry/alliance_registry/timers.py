"""The registry's timer jobs.

``announce_due_transfers``: a floating Party member six calendar months past arrival without a
transfer (``domain.membership.transfer_due_on``, set when the member was registered) is announced
once by ``floating_member_transfer_due``. Claiming the members and announcing them share one
transaction, and the claim skips rows another instance is claiming, so each member is announced
once however many instances run; at most ``TRANSFER_BATCH`` per run, the rest on the next.

``purge_sign_ins``: the sign-in requests older than every limit's window, and the codes expired
more than ``CODES_KEPT`` ago (till then ``sign_in`` says "expired" rather than "no code"), are
deleted; instances purging side by side delete the same rows at most once.

``reseal_id_cards``: while ``ID_CARD_KEYS_PREVIOUS`` holds a key older than the current one
(``domain.id_cards``), the numbers sealed under it are opened and sealed again under the current
key, with their lookup digest, at most ``ID_CARD_RESEAL_BATCH`` per run, each batch one
transaction: interrupted, a batch leaves its rows as they were, and the next run carries on with
what is still under an old key (the rows say so themselves: nothing to remember between runs).
Rows another instance is re-sealing are skipped, so instances side by side share the work. A row
that does not open with its key, or whose number someone else already has under the current key,
is left as it is and logged (by person id, never the number): it stays counted in
``id_card_keys``. Once nothing is left under a retiring key, the log says once per process to
remove it from config.
"""

from dataclasses import replace
from datetime import timedelta

import structlog

from alliance_platform.identity import ALL_DISTRICTS, Identity

from . import storage, use_cases
from .domain.days import today
from .domain.id_cards import UnreadableIdCard

log = structlog.get_logger("alliance.registry")

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


def reseal_id_cards(ctx, batch=None):
    """Re-seal one batch of ID-card numbers under old keys; returns how many were re-sealed."""
    vault, session = ctx.settings.id_cards, ctx.session
    retiring = vault.retiring_key_ids
    if not retiring:
        return 0
    batch = batch or ctx.settings.id_card_reseal_batch
    rows = storage.claim_id_cards_to_reseal(session, retiring, sorted(vault.left_alone), batch)
    if not rows:
        unused = set(retiring) - storage.id_card_keys_in_use(session, retiring)
        for key_id in vault.newly_unused(unused):
            log.warning(
                "id-card key no longer used: remove it from REGISTRY_ID_CARD_KEYS_PREVIOUS",
                key_id=key_id,
                current_key_id=vault.current_key_id,
            )
        return 0
    resealed = {}
    for row in rows:
        try:
            resealed[row["person_id"]] = vault.resealed(row["id_card_sealed"])
        except UnreadableIdCard as exc:
            log.error("id-card number not re-sealed", person_id=row["person_id"], reason=str(exc))
            vault.left_alone.add(row["person_id"])
    taken = storage.id_card_digests_taken(session, [columns["id_card_digest"] for columns in resealed.values()])
    for person_id in [p for p, columns in resealed.items() if columns["id_card_digest"] in taken]:
        log.error("id-card number not re-sealed: another person has it under the current key", person_id=person_id)
        vault.left_alone.add(person_id)
        del resealed[person_id]
    if resealed:
        storage.reseal_id_cards(session, resealed)
    log.info("id-card numbers re-sealed", count=len(resealed), key_id=vault.current_key_id)
    return len(resealed)
