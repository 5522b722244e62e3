"""The notifications service: reaches staff and merchants on the right channel — the in-app inbox,
SMS, e-mail, WeCom and DingTalk group robots — once, at the right hour. Which event notifies whom
is data (``rules.yaml``, ``templates/``), checked against the event contracts when it starts.

- ``service.py``: the nameko class — RPC methods, one event handler per subscribed event and one
  sender per channel (both generated), timers; each calls one function below.
- ``schemas.py``: what each RPC method takes and returns.
- ``domain/``: the rules in plain Python (deliveries, recipients, rules, audiences, templates,
  preferences, planning, timing, digests, sends).
- ``use_cases.py``: the commands (fan-out of an event, ``send``, marking read, preferences, retry).
- ``queries.py``: the read side (inbox, preferences, delivery status, lists, figures).
- ``storage.py``: all of its SQL. ``timers.py``: the senders, digests, resumed fan-outs.
- ``settings.py``: templates, rules, providers, limits built from config; ``channels.py``: the
  providers (SMS gateway, SMTP, group robots).
"""
