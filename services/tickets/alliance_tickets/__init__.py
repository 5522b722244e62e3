"""The tickets service: the merchants' demand list (需求清单) — a demand routed to whoever should
take it, owned by whoever accepts it, answered within working-time deadlines, followed by the
merchant on its timeline, and counted in the figures units are ranked by.

- ``service.py``: the nameko class — entrypoints that call one use case and dump its result;
- ``schemas.py``: what each RPC method takes and answers;
- ``domain/``: the rules in plain Python (lifecycle, access, routing, SLA, deadlines ...);
- ``use_cases.py``: one function per command, ``command(ctx, cmd)``, in one transaction;
- ``queries.py``: the read side (a ticket, its timeline, lists, figures);
- ``storage.py``: all of the service's SQL;
- ``timers.py``: the SLA sweep, through the same domain rules and use cases;
- ``settings.py``: the rules that are configuration (``config.yaml``); ``migrations/``: the schema.
"""
