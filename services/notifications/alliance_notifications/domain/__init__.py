"""The notifications service's rules in plain Python: no SQL, no nameko, no network.

One concept per module: ``deliveries`` (channels and the states of a delivery), ``recipients``
(who a message is for, and whose inbox a caller may act for), ``rules`` (which event notifies
whom), ``audiences`` (how to reach those a rule names), ``templates`` (what is said),
``preferences`` (who gets what on which channel), ``planning`` (one recipient's deliveries),
``timing`` (quiet hours, backoff, rate limits), ``digests`` and ``sends`` (``send`` from other
systems).
"""
