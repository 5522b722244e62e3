"""The events service: activities run jointly by the three districts (活动联抓) — promotions
coordinated across districts, trainings, visits, tutoring, evaluations (评选); registration with
seats, district quotas and a waiting list; check-in (at the door, or offline: a device's roster,
its scans uploaded later) and attendance; the points are the registry's ledger's.

- ``service.py`` — the nameko class: each entrypoint hands one use case its context and command;
- ``schemas.py`` — what each RPC method takes and what it returns;
- ``domain/`` — the rules in plain Python (lifecycle, seats, calendar, series, audience, ...);
- ``use_cases.py`` — one function per command, ``command(ctx, cmd)``, in one transaction;
- ``queries.py`` — the read side: an activity, lists, attendance, the figures of a period;
- ``storage.py`` — the service's SQL, all of it;
- ``timers.py`` — what time does: deadlines, starts, reminders, through the same use cases;
- ``settings.py`` — the time zone, offers, meetings' rhythm and check-in windows, from ``config.yaml``.
"""
