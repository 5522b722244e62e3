"""Working time on the service centre's calendar, in which every SLA is counted: the platform's
``WorkingCalendar`` (shared with the notifications service, which counts escalations in it)."""

from alliance_platform.working_time import WorkingCalendar

__all__ = ["WorkingCalendar"]
