from alliance_platform.entrypoints import rpc, timer
from alliance_platform.errors import NotFound
from alliance_platform.inputs import Period
from alliance_platform.rpc import ServiceRpc
from alliance_platform.service import AllianceService

from . import queries, schemas, timers, use_cases
from .branches import RegistryBranches
from .domain.organisers import MANAGERS
from .settings import SettingsProvider


class EventsService(AllianceService):
    """Activities run jointly by the three districts (活动联抓): promotions coordinated across districts,
    trainings, visits, tutoring, evaluations; registration with seats, quotas and a waiting list
    whose freed seats are offered in turn; check-in (offline too: a device's roster, its scans
    uploaded later) and attendance; and the branches' own meetings (三会一课) against the rhythm they are due in."""

    name = "events"

    settings = SettingsProvider()
    registry_rpc = ServiceRpc("registry")

    # --- activities -------------------------------------------------------------------------

    @rpc(schema=schemas.ActivityFields, result=schemas.ActivityOut, allow=MANAGERS, route="POST /activities")
    def create_activity(self, cmd):
        return use_cases.create_activity(self.ctx(), cmd)

    @rpc(
        schema=schemas.UpdateActivity,
        result=schemas.ActivityOut,
        allow=MANAGERS,
        route="PATCH /activities/{activity_id}",
    )
    def update_activity(self, cmd):
        return use_cases.update_activity(self.ctx(), cmd)

    @rpc(
        schema=schemas.PublishActivity,
        result=schemas.ActivityOut,
        allow=MANAGERS,
        route="POST /activities/{activity_id}/publish",
    )
    def publish_activity(self, cmd):
        return use_cases.publish_activity(self.ctx(), cmd)

    @rpc(
        schema=schemas.CancelActivity,
        result=schemas.ActivityOut,
        allow=MANAGERS,
        route="POST /activities/{activity_id}/cancel",
    )
    def cancel_activity(self, cmd):
        return use_cases.cancel_activity(self.ctx(), cmd)

    @rpc(
        schema=schemas.ActivityRef,
        result=schemas.ActivityOut,
        allow=MANAGERS,
        route="POST /activities/{activity_id}/close-registration",
    )
    def close_registration(self, cmd):
        return use_cases.close_registration(self.ctx(), cmd)

    @rpc(
        schema=schemas.ActivityRef,
        result=schemas.CompletedActivityOut,
        allow=MANAGERS,
        route="POST /activities/{activity_id}/complete",
    )
    def complete_activity(self, cmd):
        return use_cases.complete_activity(self.ctx(), cmd)

    @rpc(
        schema=schemas.ActivityRef,
        result=schemas.ActivitySeatsOut,
        read_only=True,
        route="GET /activities/{activity_id}",
    )
    def get_activity(self, cmd):
        return queries.get_activity(self.ctx(), cmd)

    @rpc(schema=schemas.ListActivities, result=schemas.ActivityPageOut, read_only=True, route="GET /activities")
    def list_activities(self, cmd):
        return queries.list_activities(self.ctx(), cmd)

    @rpc(schema=schemas.CreateSeries, result=schemas.SeriesOut, allow=MANAGERS, route="POST /activity-series")
    def create_series(self, cmd):
        return use_cases.create_series(self.ctx(), cmd)

    # --- registration and attendance ---------------------------------------------------------

    @rpc(schema=schemas.Register, result=schemas.RegisteredOut, route="POST /activities/{activity_id}/registrations")
    def register(self, cmd):
        return use_cases.register(self.ctx(), cmd)

    @rpc(
        schema=schemas.RegistrationRef,
        result=schemas.CancelledRegistrationOut,
        route="POST /registrations/{registration_id}/cancel",
    )
    def cancel_registration(self, cmd):
        return use_cases.cancel_registration(self.ctx(), cmd)

    @rpc(
        schema=schemas.RegistrationRef,
        result=schemas.RegistrationOut,
        route="POST /registrations/{registration_id}/accept-offer",
    )
    def accept_offer(self, cmd):
        return use_cases.accept_offer(self.ctx(), cmd)

    @rpc(
        schema=schemas.RegistrationRef,
        result=schemas.RegistrationOut,
        route="POST /registrations/{registration_id}/decline-offer",
    )
    def decline_offer(self, cmd):
        return use_cases.decline_offer(self.ctx(), cmd)

    @rpc(
        schema=schemas.ListRegistrations,
        result=schemas.RegistrationOut(many=True),
        read_only=True,
        route="GET /registrations",
    )
    def list_registrations(self, cmd):
        return queries.list_registrations(self.ctx(), cmd)

    @rpc(
        schema=schemas.CheckIn,
        result=schemas.RegistrationOut,
        allow=MANAGERS,
        route="POST /activities/{activity_id}/check-ins",
    )
    def check_in(self, cmd):
        return use_cases.check_in(self.ctx(), cmd)

    @rpc(
        schema=schemas.ActivityRef,
        result=schemas.AttendanceOut,
        allow=MANAGERS,
        read_only=True,
        route="GET /activities/{activity_id}/attendance",
    )
    def attendance(self, cmd):
        return queries.attendance(self.ctx(), cmd)

    # --- evaluations ------------------------------------------------------------------------

    @rpc(
        schema=schemas.Nominate,
        result=schemas.NominationOut,
        allow=MANAGERS,
        route="POST /activities/{activity_id}/nominations",
    )
    def nominate(self, cmd):
        return use_cases.nominate(self.ctx(), cmd, merchant_exists=self._merchant_exists)

    def _merchant_exists(self, merchant_id):
        try:
            self.registry_rpc.get_merchant(merchant_id=merchant_id)
        except NotFound:
            return False
        return True

    @rpc(schema=schemas.Vote, result=schemas.VoteOut, route="POST /activities/{activity_id}/votes")
    def vote(self, cmd):
        return use_cases.vote(self.ctx(), cmd)

    @rpc(
        schema=schemas.ActivityRef,
        result=schemas.EvaluationResultOut,
        allow=MANAGERS,
        route="POST /activities/{activity_id}/close-evaluation",
    )
    def close_evaluation(self, cmd):
        return use_cases.close_evaluation(self.ctx(), cmd)

    @rpc(schema=Period, result=schemas.StatsOut, allow=MANAGERS, read_only=True, route="GET /stats/events")
    def stats(self, cmd):
        return queries.stats(self.ctx(), cmd)

    # --- branch life (三会一课) -------------------------------------------------------------------

    @rpc(schema=schemas.PlanMeeting, result=schemas.MeetingOut, allow=MANAGERS, route="POST /meetings")
    def plan_meeting(self, cmd):
        return use_cases.plan_meeting(self.ctx(), cmd, branches=self._branches())

    @rpc(
        schema=schemas.MeetingCheckIn,
        result=schemas.AttendeeOut,
        allow=MANAGERS,
        route="POST /meetings/{meeting_id}/check-ins",
    )
    def check_in_to_meeting(self, cmd):
        return use_cases.check_in_to_meeting(self.ctx(), cmd)

    # --- offline check-in: a device downloads a roster, checks in offline, uploads its scans ---

    @rpc(
        schema=schemas.DownloadRoster,
        result=schemas.RosterOut,
        allow=MANAGERS,
        remember_answer=False,
        route="POST /check-in/rosters",
    )
    def download_roster(self, cmd):
        return use_cases.download_roster(self.ctx(), cmd)

    @rpc(schema=schemas.UploadScans, result=schemas.UploadedScansOut, allow=MANAGERS, route="POST /check-in/scans")
    def upload_scans(self, cmd):
        return use_cases.upload_scans(self.ctx(), cmd)

    @rpc(
        schema=schemas.ScanReport,
        result=schemas.ScanReportOut,
        allow=MANAGERS,
        read_only=True,
        route="GET /check-in/scans",
    )
    def scan_report(self, cmd):
        return use_cases.scan_report(self.ctx(), cmd)

    @rpc(schema=schemas.ExcuseAbsence, result=schemas.AttendeeOut, route="POST /meetings/{meeting_id}/absences")
    def excuse_absence(self, cmd):
        return use_cases.excuse_absence(self.ctx(), cmd)

    @rpc(schema=schemas.MeetingRef, result=schemas.MeetingOut, allow=MANAGERS, route="POST /meetings/{meeting_id}/hold")
    def hold_meeting(self, cmd):
        return use_cases.hold_meeting(self.ctx(), cmd)

    @rpc(
        schema=schemas.RecordMinutes,
        result=schemas.MeetingOut,
        allow=MANAGERS,
        route="POST /meetings/{meeting_id}/minutes",
    )
    def record_minutes(self, cmd):
        return use_cases.record_minutes(self.ctx(), cmd)

    @rpc(
        schema=schemas.CancelMeeting,
        result=schemas.MeetingOut,
        allow=MANAGERS,
        route="POST /meetings/{meeting_id}/cancel",
    )
    def cancel_meeting(self, cmd):
        return use_cases.cancel_meeting(self.ctx(), cmd)

    @rpc(schema=schemas.MeetingRef, result=schemas.MeetingOut, read_only=True, route="GET /meetings/{meeting_id}")
    def get_meeting(self, cmd):
        return queries.get_meeting(self.ctx(), cmd)

    @rpc(
        schema=schemas.ListMeetings,
        result=schemas.MeetingPageOut,
        allow=MANAGERS,
        read_only=True,
        route="GET /meetings",
    )
    def list_meetings(self, cmd):
        return queries.list_meetings(self.ctx(), cmd, branches=self._branches())

    @rpc(
        schema=schemas.BranchComplianceQuery,
        result=schemas.BranchComplianceOut,
        allow=MANAGERS,
        read_only=True,
        route="GET /branch-compliance",
    )
    def branch_compliance(self, cmd):
        return queries.branch_compliance(self.ctx(), cmd, branches=self._branches())

    def _branches(self):
        return RegistryBranches(self.registry_rpc)

    # --- time passing -----------------------------------------------------------------------

    @timer(interval="ACTIVITY_TIMER_INTERVAL")
    def run_schedule(self):
        return timers.run_schedule(self.ctx())

    @timer(interval="BRANCH_RHYTHM_TIMER_INTERVAL")
    def run_branch_rhythm(self):
        return timers.run_branch_rhythm(self.ctx(), self._branches())
