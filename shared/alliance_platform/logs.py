"""Logging: structlog for our lines and nameko's/kombu's alike, JSON or readable, always masked.

Every line a worker writes carries ``service``, ``entrypoint``, ``call_id`` and ``correlation_id``
(bound by ``context.CallContext``). Mobile numbers, ID-card numbers and tokens never reach a log
in clear, whichever library wrote the line.
"""

import functools
import logging
import re
import sys

import structlog

# An 18-character resident ID number: 17 digits and a check character (a digit or X).
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{13}(\d[\dXx])(?![0-9A-Za-z])")
# A mainland mobile number, not part of a longer run of digits.
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
# A URL's password (amqp://user:password@host): nameko masks only the first of an AMQP_URI that
# names several nodes ("amqp://a;amqp://b").
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s;]*:)[^@\s;/]+@")
# A field is masked when its name is one of these or contains one (signing_key, people_signing_key,
# sign_in_code_secret, id_card_no, a system's credential, ...).
_SECRET_KEYS = ("authorization", "token", "password", "secret", "signing_key", "private_key", "credential", "id_card")
# A private key in PEM, and an internal system's credential (registry's delegation).
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)
_CREDENTIAL = re.compile(r"alliance-system\.[\w-]+")


# What every pattern above needs somewhere in the text (a mobile or an ID number: 11 digits in a
# row at least): most values of a line (ids, names, outcomes) have none and are left as they are
# after this one scan instead of six.
_MAYBE_SECRET = re.compile(r"\d{11}|eyJ|PRIVATE KEY|alliance-system\.|://")


@functools.lru_cache(maxsize=4096)
def _secret_name(key):
    key = str(key).lower()
    return any(fragment in key for fragment in _SECRET_KEYS)


def mask_text(text):
    if not _MAYBE_SECRET.search(text):
        return text
    text = _JWT.sub("[token]", text)
    text = _PEM.sub("[private key]", text)
    text = _CREDENTIAL.sub("[credential]", text)
    text = _URL_PASSWORD.sub(r"\1********@", text)
    text = _ID_CARD.sub(r"\1*************\2", text)
    return _MOBILE.sub(r"\1****\2", text)


def _mask(value):
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: ("[masked]" if _secret_name(k) else _mask(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    return value


def mask_sensitive(logger, method_name, event_dict):
    return _mask(event_dict)


def _render_exception_then_mask(logger, method_name, event_dict):
    # Tracebacks quote arguments and SQL; render them to text first so masking sees them.
    return mask_sensitive(logger, method_name, structlog.processors.format_exc_info(logger, method_name, event_dict))


def configure(fmt="console", level="INFO", stream=None):
    """Route structlog and the standard library through one masked renderer."""
    stream = stream or sys.stdout
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _render_exception_then_mask,
    ]
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        # Drop lines below the level before any work is done on them (per-call lines at WARNING).
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # nameko logs every expected (typed) error with a full traceback; the platform already logs
    # one line per refused call, so keep nameko's container log for real failures only.
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)
