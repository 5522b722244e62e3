"""The registry: districts, organisations, merchants, people, Party members, honours, pairings."""

from alliance_platform.entrypoints import event_handler, rpc, timer
from alliance_platform.identity import ALL_DISTRICTS, Identity
from alliance_platform.service import AllianceService

from . import directory, imports, merchants, people, recognition
from .id_cards import IdCards
from .schemas import (
    MAX_ROSTER_BYTES,
    AwardHonour,
    EndPairing,
    ImportMerchants,
    ListHonours,
    ListOrganisations,
    MerchantRef,
    PersonRef,
    RecordTransferIn,
    RegisterMerchant,
    RegisterPartyMember,
    RegisterPerson,
    ResolveAudience,
    RevokeHonour,
    SearchMerchants,
    SearchPeople,
    SetMerchantStatus,
    StartPairing,
    UpdateMerchant,
    UpdatePerson,
)

# Who may call what; each use case then checks the caller's districts (or own merchant).
STAFF = ("admin", "staff", "system")
SELF_SERVICE = (*STAFF, "merchant")
READERS = (*STAFF, "branch_secretary")
MEMBER_KEEPERS = (*STAFF, "branch_secretary")
# The registry's own identity, for the changes its timer makes.
REGISTRY = Identity("registry", "system", roles=frozenset({"system"}), districts=frozenset({ALL_DISTRICTS}))


class RegistryService(AllianceService):
    """The register behind every other service: districts, organisations, merchants, people, Party
    members (floating members too), honours and pairings; searches, audiences and roster import."""

    name = "registry"

    id_cards = IdCards()

    @rpc(read_only=True)
    def list_districts(self):
        return directory.list_districts(self.db)

    @rpc(schema=ListOrganisations, read_only=True)
    def list_organisations(self, cmd):
        return directory.list_organisations(self.db, cmd)

    # Merchants ----------------------------------------------------------------------------------

    @rpc(schema=RegisterMerchant, allow=STAFF)
    def register_merchant(self, cmd):
        return merchants.register_merchant(self.db, self.call.identity, cmd, now=self.clock.now())

    @rpc(schema=UpdateMerchant, allow=SELF_SERVICE)
    def update_merchant(self, cmd):
        return merchants.update_merchant(self.db, self.call.identity, cmd, now=self.clock.now())

    @rpc(schema=SetMerchantStatus, allow=STAFF)
    def set_merchant_status(self, cmd):
        return merchants.set_merchant_status(self.db, self.call.identity, cmd, now=self.clock.now())

    @rpc(schema=MerchantRef, read_only=True)
    def get_merchant(self, cmd):
        return merchants.get_merchant(self.db, self.call.identity, cmd)

    @rpc(schema=SearchMerchants, allow=READERS, read_only=True)
    def search_merchants(self, cmd):
        return merchants.search_merchants(self.db, self.call.identity, cmd)

    # The roster travels base64-encoded in the request: the message may be as large as the field.
    @rpc(schema=ImportMerchants, allow=STAFF, max_request_bytes=MAX_ROSTER_BYTES * 4 // 3 + 64 * 1024)
    def import_merchants(self, cmd):
        return imports.import_merchants(self.db, self.call.identity, cmd, now=self.clock.now(), vault=self.id_cards)

    # People and Party members -------------------------------------------------------------------

    @rpc(schema=RegisterPerson, allow=STAFF)
    def register_person(self, cmd):
        return people.register_person(self.db, self.call.identity, cmd, now=self.clock.now(), vault=self.id_cards)

    @rpc(schema=UpdatePerson, allow=SELF_SERVICE)
    def update_person(self, cmd):
        return people.update_person(self.db, self.call.identity, cmd, now=self.clock.now(), vault=self.id_cards)

    @rpc(schema=PersonRef, read_only=True)
    def get_person(self, cmd):
        return people.get_person(self.db, self.call.identity, cmd, now=self.clock.now(), vault=self.id_cards)

    @rpc(schema=SearchPeople, allow=READERS, read_only=True)
    def search_people(self, cmd):
        return people.search_people(self.db, self.call.identity, cmd, vault=self.id_cards)

    @rpc(schema=RegisterPartyMember, allow=MEMBER_KEEPERS)
    def register_party_member(self, cmd):
        return people.register_party_member(self.db, self.call.identity, cmd, now=self.clock.now())

    @rpc(schema=RecordTransferIn, allow=MEMBER_KEEPERS)
    def record_transfer_in(self, cmd):
        return people.record_transfer_in(self.db, self.call.identity, cmd, now=self.clock.now())

    @timer(interval="TRANSFER_CHECK_INTERVAL", eager=True)
    def announce_due_transfers(self):
        return people.announce_due_transfers(self.db, REGISTRY, now=self.clock.now())

    # Honours and pairings -----------------------------------------------------------------------

    @rpc(schema=AwardHonour, allow=STAFF)
    def award_honour(self, cmd):
        return recognition.award_honour(self.db, self.call.identity, cmd, now=self.clock.now())

    @rpc(schema=RevokeHonour, allow=STAFF)
    def revoke_honour(self, cmd):
        return recognition.revoke_honour(self.db, self.call.identity, cmd, now=self.clock.now())

    @rpc(schema=ListHonours, read_only=True)
    def list_honours(self, cmd):
        return recognition.list_honours(self.db, self.call.identity, cmd)

    @rpc(schema=StartPairing, allow=MEMBER_KEEPERS)
    def start_pairing(self, cmd):
        return recognition.start_pairing(self.db, self.call.identity, cmd, now=self.clock.now())

    @rpc(schema=EndPairing, allow=MEMBER_KEEPERS)
    def end_pairing(self, cmd):
        return recognition.end_pairing(self.db, self.call.identity, cmd, now=self.clock.now())

    # Audiences and statistics -------------------------------------------------------------------

    @rpc(schema=ResolveAudience, allow=READERS, read_only=True)
    def resolve_audience(self, cmd):
        return directory.resolve_audience(self.db, self.call.identity, cmd)

    @rpc(allow=READERS, read_only=True)
    def stats(self):
        return directory.stats(self.db, self.call.identity, now=self.clock.now())

    # --- facts from the other services ------------------------------------------------------

    @event_handler("events", "evaluation_closed")
    def handle_events_evaluation_closed(self, event):
        return recognition.award_evaluation_winners(self.db, event, self.clock.now())
