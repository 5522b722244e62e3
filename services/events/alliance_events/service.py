from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

from alliance_platform.entrypoints import rpc, timer
from alliance_platform.errors import NotFound
from alliance_platform.inputs import Period
from alliance_platform.rpc import ServiceRpc
from alliance_platform.service import AllianceService

from . import activities, evaluations, registrations, reports, schemas
from .activities import Office
from .schedule import tick

MANAGERS = ("admin", "staff", "branch_secretary", "system")


class Settings(DependencyProvider):
    def setup(self):
        config = self.container.config
        self.settings = {"points": dict(config["PARTICIPATION_POINTS"]), "timezone": ZoneInfo(config["TIMEZONE"])}

    def get_dependency(self, worker_ctx):
        return self.settings


class EventsService(AllianceService):
    """Activities run jointly by the three districts (活动联抓): promotions coordinated across districts,
    trainings, visits, tutoring, evaluations; registration with seats, quotas and a waiting list;
    check-in, attendance and participation points."""

    name = "events"

    settings = Settings()
    registry_rpc = ServiceRpc("registry")

    def _office(self):
        return Office(self.db, self.call.identity, self.clock.now(), self.settings)

    # --- activities -------------------------------------------------------------------------

    @rpc(schema=schemas.ActivityFields, allow=MANAGERS)
    def create_activity(self, cmd):
        return activities.present(activities.create(self._office(), cmd))

    @rpc(schema=schemas.UpdateActivity, allow=MANAGERS)
    def update_activity(self, cmd):
        activity_id = cmd.pop("activity_id")
        return activities.present(activities.update(self._office(), activity_id, cmd))

    @rpc(schema=schemas.PublishActivity, allow=MANAGERS)
    def publish_activity(self, cmd):
        return activities.present(activities.publish(self._office(), cmd["activity_id"], cmd["override_reason"]))

    @rpc(schema=schemas.CancelActivity, allow=MANAGERS)
    def cancel_activity(self, cmd):
        return activities.present(activities.cancel(self._office(), cmd["activity_id"], cmd["reason"]))

    @rpc(schema=schemas.ActivityRef, allow=MANAGERS)
    def close_registration(self, cmd):
        return activities.present(activities.move(self._office(), cmd["activity_id"], "close_registration"))

    @rpc(schema=schemas.ActivityRef, allow=MANAGERS)
    def complete_activity(self, cmd):
        done = activities.complete(self._office(), cmd["activity_id"])
        return {**activities.present(done["activity"]), **{k: v for k, v in done.items() if k != "activity"}}

    @rpc(schema=schemas.ActivityRef, read_only=True)
    def get_activity(self, cmd):
        return activities.get(self._office(), cmd["activity_id"])

    @rpc(schema=schemas.ListActivities, read_only=True)
    def list_activities(self, cmd):
        return activities.list_activities(self._office(), cmd)

    @rpc(schema=schemas.CreateSeries, allow=MANAGERS)
    def create_series(self, cmd):
        series_id, created = activities.create_series(self._office(), cmd)
        return {"series_id": series_id, "activities": [activities.present(a) for a in created]}

    # --- registration and attendance ---------------------------------------------------------

    @rpc(schema=schemas.Register)
    def register(self, cmd):
        return registrations.register(self._office(), cmd)

    @rpc(schema=schemas.RegistrationRef)
    def cancel_registration(self, cmd):
        return registrations.cancel(self._office(), cmd["registration_id"])

    @rpc(schema=schemas.ListRegistrations, read_only=True)
    def list_registrations(self, cmd):
        return registrations.list_registrations(self._office(), cmd)

    @rpc(schema=schemas.CheckIn, allow=MANAGERS)
    def check_in(self, cmd):
        return registrations.check_in(self._office(), cmd["activity_id"], cmd["code"])

    @rpc(schema=schemas.ActivityRef, allow=MANAGERS, read_only=True)
    def attendance(self, cmd):
        return registrations.attendance(self._office(), cmd["activity_id"])

    # --- evaluations ------------------------------------------------------------------------

    @rpc(schema=schemas.Nominate, allow=MANAGERS)
    def nominate(self, cmd):
        return evaluations.nominate(
            self._office(), cmd["activity_id"], cmd["merchant_id"], cmd["reason"], self._merchant_exists
        )

    def _merchant_exists(self, merchant_id):
        try:
            self.registry_rpc.get_merchant(merchant_id=merchant_id)
        except NotFound:
            return False
        return True

    @rpc(schema=schemas.Vote)
    def vote(self, cmd):
        return evaluations.vote(self._office(), cmd["activity_id"], cmd["merchant_id"])

    @rpc(schema=schemas.ActivityRef, allow=MANAGERS)
    def close_evaluation(self, cmd):
        return evaluations.close(self._office(), cmd["activity_id"])

    @rpc(schema=Period, allow=MANAGERS, read_only=True)
    def stats(self, cmd):
        return reports.stats(self._office(), cmd)

    # --- time passing -----------------------------------------------------------------------

    @timer(interval="ACTIVITY_TIMER_INTERVAL")
    def run_schedule(self):
        return tick(self.db, self.clock.now())
