"""Benchmarks: ``python -m bench [SCENARIO ...] [--quick]`` (what ``make bench`` runs).

Each scenario measures the platform and, in the same run on the same machine, a baseline that does
the least work the same job can take; the table shows both, their ratio and the goal. Speed goals
live here, never as timed assertions in tests, and a missed goal is reported, not an error.

The bench runs in its own RabbitMQ vhost and database, with service processes it starts and stops
itself, so a running ``make run`` system is not disturbed (``environment.py``).
"""
