"""The registry service: the alliance's register of districts, organisations, merchants, people,
Party members (floating members too) and their points ledger (党员积分), honours and pairings,
which every other service reads.

Its layout, the same in every service:

- ``service.py`` — the nameko class: entrypoints that load input, call one use case or query
  with ``self.ctx()`` and return its result dumped through its result schema;
- ``schemas.py`` — the RPC inputs and results;
- ``domain/`` — the rules in plain Python (no SQL, no nameko), one concept per module;
- ``use_cases.py`` — one function per command, ``command(ctx, cmd)``, in one transaction;
- ``queries.py`` — the read side: gets, searches, audiences, statistics;
- ``storage.py`` — all of the service's SQL;
- ``timers.py`` — the transfer check, through the same use cases, and the purge of old sign-ins;
- ``settings.py`` — the ID-card vault, the sign-in rules and the token service, built from config;
- ``config.yaml``, ``migrations/``.
"""
