"""Operator tooling of the alliance platform (not part of any service image): the ``alliance``
command, the supervisor of ``make run``, the monthly report, the demo and its data, the contract
document."""
