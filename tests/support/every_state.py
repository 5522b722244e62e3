"""The every-state matrix of a service's commands: each command, by each kind of caller, with each
variant of its arguments, on an aggregate built afresh in each state it can be in — the answer must
be the command's result (a dict) or a typed ``AllianceError``, and a refused command must change
nothing.

The world the runner is given builds and reads the aggregate:

- ``world.build(state)`` -> a context (a dict) naming a new aggregate in ``state`` under ``key``;
- ``world.call(kind, method, context, arguments)`` -> the command's answer (with ``skip_none``,
  ``None`` means the command does not apply to this aggregate, e.g. nothing to name: skipped, not
  counted as done; without it, ``None`` is an answer and fails as one);
- ``world.snapshot(aggregate_id)`` -> everything a command could change, compared before and after
  a refusal.
"""

from dataclasses import dataclass, field

from alliance_platform.errors import AllianceError


@dataclass
class Outcome:
    failures: list = field(default_factory=list)
    done: set = field(default_factory=set)  # commands carried out at least once
    refused: int = 0


def run_every_state(world, states, commands, *, key, noun, never_obeyed=None, skip_none=False):
    """Try ``commands`` ({method: (kinds, [arguments, ...])}) in every state of ``states`` on
    aggregates ``world`` builds (``context[key]`` names one; ``noun`` names it in the failures).
    A caller of a kind in ``never_obeyed`` ({kind: who, for the failure}) must be refused every
    command. After a command was carried out the aggregate is built again, so the next call meets
    the state afresh."""
    never_obeyed = never_obeyed or {}
    outcome = Outcome()
    for state in states:
        context = world.build(state)
        for method, (kinds, variants) in commands.items():
            for kind in kinds:
                for arguments in variants:
                    label = f"{method}({arguments}) by {kind} on a {state} {noun}"
                    before = world.snapshot(context[key])
                    try:
                        result = world.call(kind, method, context, arguments)
                    except AllianceError:
                        outcome.refused += 1
                        if world.snapshot(context[key]) != before:
                            outcome.failures.append(f"{label}: refused, but changed the data")
                        continue
                    except Exception as exc:  # noqa: BLE001 - what the test exists to catch
                        outcome.failures.append(f"{label}: {type(exc).__name__} {exc}")
                        continue
                    if result is None and skip_none:
                        continue
                    outcome.done.add(method)
                    if kind in never_obeyed:
                        outcome.failures.append(f"{label}: {never_obeyed[kind]} was obeyed")
                    if not isinstance(result, dict):
                        outcome.failures.append(f"{label}: answered {result!r}")
                    context = world.build(state)
    return outcome
