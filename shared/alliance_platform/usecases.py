"""What every use case receives: one context of the unit of work, the caller, the time and the
service's settings.

A use case is a plain function ``use_case(ctx, cmd)`` in the service's ``use_cases.py``: it reads
``ctx.session`` (the worker's one transaction, with the outbox), decides with ``ctx.caller`` (the
verified identity, or None for timers and event handlers), takes the time from ``ctx.now`` (read
once per call from the service's clock, so a rule sees one instant) and the service's rules from
``ctx.settings``. The service's entrypoints build it with ``self.ctx()``; tests build one around a
real database session (``transaction``) without nameko or a broker.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UseCaseContext:
    session: object
    caller: object
    now: datetime
    settings: object = None
