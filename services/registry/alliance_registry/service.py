"""The registry's nameko class: its name, its settings and its entrypoints."""

from alliance_platform.audit import Audit
from alliance_platform.entrypoints import event_handler, rpc, timer
from alliance_platform.rpc import ServiceRpc
from alliance_platform.service import AllianceService, quiet

from . import queries, timers, use_cases
from . import schemas as s
from .domain.access import ADMIN, MEMBER_KEEPERS, OPERATORS, READERS, SELF_SERVICE, STAFF
from .settings import RegistrySettings

# A points entry is an entity of its own (and the one a correction corrects); the source fields
# name another service's event and entity, not the registry's.
POINTS_AUDIT = Audit(
    references={
        "entry_id": "points_entry",
        "corrects": "points_entry",
        "corrects_id": "points_entry",
        "source_event_id": None,
        "source_entity_id": None,
    }
)


class RegistryService(AllianceService):
    """The register behind every other service: districts, organisations, merchants, people, Party
    members (floating members too) and their points, honours and pairings; searches, audiences and
    roster import; signing people in to the staff console."""

    name = "registry"

    settings = RegistrySettings()
    notifications_rpc = ServiceRpc("notifications")

    @rpc(read_only=True, result=s.District(many=True), route="GET /districts")
    def list_districts(self):
        return queries.list_districts(self.ctx())

    @rpc(schema=s.ListOrganisations, result=s.Organisation(many=True), read_only=True, route="GET /organisations")
    def list_organisations(self, cmd):
        return queries.list_organisations(self.ctx(), cmd)

    # Organisations (组织联建): an administrator's; anyone verified reads them -------------------

    @rpc(schema=s.AddOrganisation, result=s.Organisation, allow=ADMIN, route="POST /organisations")
    def add_organisation(self, cmd):
        return use_cases.add_organisation(self.ctx(), cmd)

    @rpc(
        schema=s.RenameOrganisation,
        result=s.Organisation,
        allow=ADMIN,
        route="POST /organisations/{organisation_id}/name",
    )
    def rename_organisation(self, cmd):
        return use_cases.rename_organisation(self.ctx(), cmd)

    @rpc(
        schema=s.MoveOrganisation,
        result=s.Organisation,
        allow=ADMIN,
        route="POST /organisations/{organisation_id}/parent",
    )
    def move_organisation(self, cmd):
        return use_cases.move_organisation(self.ctx(), cmd)

    @rpc(
        schema=s.RetireOrganisation,
        result=s.Organisation,
        allow=ADMIN,
        route="POST /organisations/{organisation_id}/retire",
    )
    def retire_organisation(self, cmd):
        return use_cases.retire_organisation(self.ctx(), cmd)

    @rpc(
        schema=s.SetOrganisationLiaisons,
        result=s.Organisation,
        allow=ADMIN,
        route="PUT /organisations/{organisation_id}/liaisons",
    )
    def set_organisation_liaisons(self, cmd):
        return use_cases.set_organisation_liaisons(self.ctx(), cmd)

    @rpc(
        schema=s.OrganisationRef,
        result=s.Organisation,
        read_only=True,
        route="GET /organisations/{organisation_id}",
    )
    def get_organisation(self, cmd):
        return queries.get_organisation(self.ctx(), cmd)

    @rpc(
        schema=s.OrganisationHistoryRef,
        result=s.OrganisationHistory,
        allow=READERS,
        read_only=True,
        route="GET /organisations/{organisation_id}/history",
    )
    def organisation_history(self, cmd):
        return queries.organisation_history(self.ctx(), cmd)

    # Merchants ----------------------------------------------------------------------------------

    @rpc(schema=s.RegisterMerchant, result=s.Merchant, allow=STAFF, route="POST /merchants")
    def register_merchant(self, cmd):
        return use_cases.register_merchant(self.ctx(), cmd)

    @rpc(schema=s.UpdateMerchant, result=s.Merchant, allow=SELF_SERVICE, route="PATCH /merchants/{merchant_id}")
    def update_merchant(self, cmd):
        return use_cases.update_merchant(self.ctx(), cmd)

    @rpc(schema=s.SetMerchantStatus, result=s.Merchant, allow=STAFF, route="POST /merchants/{merchant_id}/status")
    def set_merchant_status(self, cmd):
        return use_cases.set_merchant_status(self.ctx(), cmd)

    @rpc(schema=s.MerchantRef, result=s.Merchant, read_only=True, route="GET /merchants/{merchant_id}")
    def get_merchant(self, cmd):
        return queries.get_merchant(self.ctx(), cmd)

    @rpc(schema=s.SearchMerchants, result=s.MerchantPage, allow=READERS, read_only=True, route="GET /merchants")
    def search_merchants(self, cmd):
        return queries.search_merchants(self.ctx(), cmd)

    # The roster travels base64-encoded in the request: the message may be as large as the field.
    @rpc(
        schema=s.ImportMerchants,
        result=s.ImportReport,
        allow=STAFF,
        max_request_bytes=s.MAX_ROSTER_BYTES * 4 // 3 + 64 * 1024,
        route="POST /merchant-imports",
    )
    def import_merchants(self, cmd):
        return use_cases.import_merchants(self.ctx(), cmd)

    # People and Party members -------------------------------------------------------------------

    @rpc(schema=s.RegisterPerson, result=s.Person, allow=STAFF, route="POST /people")
    def register_person(self, cmd):
        return use_cases.register_person(self.ctx(), cmd)

    @rpc(schema=s.UpdatePerson, result=s.Person, allow=SELF_SERVICE, route="PATCH /people/{person_id}")
    def update_person(self, cmd):
        return use_cases.update_person(self.ctx(), cmd)

    @rpc(schema=s.PersonRef, result=s.Person, read_only=True, route="GET /people/{person_id}")
    def get_person(self, cmd):
        return queries.get_person(self.ctx(), cmd)

    @rpc(schema=s.SearchPeople, result=s.PersonPage, allow=READERS, read_only=True, route="GET /people")
    def search_people(self, cmd):
        return queries.search_people(self.ctx(), cmd)

    @rpc(
        schema=s.RegisterPartyMember,
        result=s.PartyMember,
        allow=MEMBER_KEEPERS,
        route="POST /people/{person_id}/party-membership",
    )
    def register_party_member(self, cmd):
        return use_cases.register_party_member(self.ctx(), cmd)

    @rpc(
        schema=s.RecordTransferIn,
        result=s.TransferIn,
        allow=MEMBER_KEEPERS,
        route="POST /people/{person_id}/transfer-in",
    )
    def record_transfer_in(self, cmd):
        return use_cases.record_transfer_in(self.ctx(), cmd)

    # The transfer as a workflow (组织关系转接): started, then completed or declined.

    @rpc(
        schema=s.StartTransfer,
        result=s.Transfer,
        allow=MEMBER_KEEPERS,
        route="POST /people/{person_id}/transfers",
    )
    def start_transfer(self, cmd):
        return use_cases.start_transfer(self.ctx(), cmd)

    @rpc(
        schema=s.CompleteTransfer,
        result=s.Transfer,
        allow=MEMBER_KEEPERS,
        route="POST /transfers/{transfer_id}/complete",
    )
    def complete_transfer(self, cmd):
        return use_cases.complete_transfer(self.ctx(), cmd)

    @rpc(
        schema=s.DeclineTransfer,
        result=s.Transfer,
        allow=MEMBER_KEEPERS,
        route="POST /transfers/{transfer_id}/decline",
    )
    def decline_transfer(self, cmd):
        return use_cases.decline_transfer(self.ctx(), cmd)

    @rpc(schema=s.ListTransfers, result=s.TransferPage, allow=READERS, read_only=True, route="GET /transfers")
    def list_transfers(self, cmd):
        return queries.list_transfers(self.ctx(), cmd)

    @timer(interval="TRANSFER_CHECK_INTERVAL", eager=True)
    def announce_due_transfers(self):
        return timers.announce_due_transfers(self.ctx())

    # Honours and pairings -----------------------------------------------------------------------

    @rpc(schema=s.AwardHonour, result=s.Honour, allow=STAFF, route="POST /merchants/{merchant_id}/honours")
    def award_honour(self, cmd):
        return use_cases.award_honour(self.ctx(), cmd)

    @rpc(schema=s.RevokeHonour, result=s.Honour, allow=STAFF, route="POST /honours/{honour_id}/revoke")
    def revoke_honour(self, cmd):
        return use_cases.revoke_honour(self.ctx(), cmd)

    @rpc(schema=s.ListHonours, result=s.HonourPage, read_only=True, route="GET /honours")
    def list_honours(self, cmd):
        return queries.list_honours(self.ctx(), cmd)

    @rpc(schema=s.ListPairings, result=s.Pairing(many=True), read_only=True, route="GET /pairings")
    def list_pairings(self, cmd):
        return queries.list_pairings(self.ctx(), cmd)

    @rpc(schema=s.StartPairing, result=s.Pairing, allow=MEMBER_KEEPERS, route="POST /pairings")
    def start_pairing(self, cmd):
        return use_cases.start_pairing(self.ctx(), cmd)

    @rpc(schema=s.EndPairing, result=s.Pairing, allow=MEMBER_KEEPERS, route="POST /pairings/{pairing_id}/end")
    def end_pairing(self, cmd):
        return use_cases.end_pairing(self.ctx(), cmd)

    # Party members' points (党员积分) ------------------------------------------------------------

    @rpc(
        schema=s.RecordPoints,
        result=s.RecordedPoints,
        allow=ADMIN,
        route="POST /people/{person_id}/points",
        audit=POINTS_AUDIT,
    )
    def record_points(self, cmd):
        return use_cases.record_points(self.ctx(), cmd)

    @rpc(schema=s.MemberPointsRef, result=s.MemberPoints, read_only=True, route="GET /people/{person_id}/points")
    def member_points(self, cmd):
        return queries.member_points(self.ctx(), cmd)

    @rpc(schema=s.RankPoints, result=s.PointsRanking, allow=READERS, read_only=True, route="GET /points/ranking")
    def rank_points(self, cmd):
        return queries.rank_points(self.ctx(), cmd)

    # Audiences and statistics -------------------------------------------------------------------

    @rpc(schema=s.ResolveAudience, result=s.Audience, allow=READERS, read_only=True, route="GET /audience")
    def resolve_audience(self, cmd):
        return queries.resolve_audience(self.ctx(), cmd)

    @rpc(allow=READERS, result=s.Stats, read_only=True, route="GET /stats/registry")
    def stats(self):
        return queries.stats(self.ctx())

    # The ID-card key: re-sealing under the current key, and where it stands ---------------------

    @timer(interval="ID_CARD_RESEAL_INTERVAL")
    @quiet
    def reseal_id_cards(self):
        return timers.reseal_id_cards(self.ctx())

    @rpc(allow=OPERATORS, result=s.IdCardKeys, read_only=True, route="GET /id-card-keys")
    def id_card_keys(self):
        return queries.id_card_keys(self.ctx())

    # Signing in to the staff console (no identity yet: anyone may call these) ------------------

    @rpc(schema=s.RequestSignInCode, result=s.SignInCodeSent, authenticated=False, route="POST /sign-in/codes")
    def request_sign_in_code(self, cmd):
        return use_cases.request_sign_in_code(self.ctx(), cmd, self.notifications_rpc.send)

    # Its answer holds a token: never kept in command_answers (a retry needs a new code).
    @rpc(schema=s.SignIn, result=s.SignedIn, authenticated=False, remember_answer=False, route="POST /sign-in")
    def sign_in(self, cmd):
        return use_cases.sign_in(self.ctx(), cmd)

    @timer(interval="SIGN_IN_PURGE_INTERVAL")
    @quiet
    def purge_sign_ins(self):
        return timers.purge_sign_ins(self.ctx())

    # Internal systems acting for people (docs/contract/DELEGATION.md) ---------------------------

    # Its answer holds the credential, shown once: never kept in command_answers.
    @rpc(schema=s.RegisterSystem, result=s.SystemCredential, allow=ADMIN, remember_answer=False, route="POST /systems")
    def register_system(self, cmd):
        return use_cases.register_system(self.ctx(), cmd)

    @rpc(schema=s.ListSystems, result=s.System(many=True), allow=ADMIN, read_only=True, route="GET /systems")
    def list_systems(self, cmd):
        return queries.list_systems(self.ctx(), cmd)

    @rpc(
        schema=s.SystemRef,
        result=s.SystemCredential,
        allow=ADMIN,
        remember_answer=False,
        route="POST /systems/{system_id}/credential",
    )
    def rotate_system_credential(self, cmd):
        return use_cases.rotate_system_credential(self.ctx(), cmd)

    @rpc(schema=s.RevokeSystem, result=s.System, allow=ADMIN, route="POST /systems/{system_id}/revoke")
    def revoke_system(self, cmd):
        return use_cases.revoke_system(self.ctx(), cmd)

    # A system presents its credential, not a token; the answer holds a token (never kept).
    @rpc(
        schema=s.ExchangeToken,
        result=s.ExchangedToken,
        authenticated=False,
        remember_answer=False,
        route="POST /delegation/tokens",
    )
    def exchange_token(self, cmd):
        return use_cases.exchange_token(self.ctx(), cmd)

    # Facts from the other services --------------------------------------------------------------

    @event_handler("events", "evaluation_closed")
    def handle_events_evaluation_closed(self, event):
        return use_cases.award_evaluation_winners(self.ctx(), event)

    @event_handler("events", "checked_in")
    def handle_events_checked_in(self, event):
        return use_cases.award_points(self.ctx(), event)

    @event_handler("events", "no_shows_recorded")
    def handle_events_no_shows_recorded(self, event):
        return use_cases.award_points(self.ctx(), event)

    @event_handler("events", "meeting_held")
    def handle_events_meeting_held(self, event):
        return use_cases.award_points(self.ctx(), event)

    @event_handler("tickets", "ticket_closed")
    def handle_tickets_ticket_closed(self, event):
        return use_cases.award_points(self.ctx(), event)
