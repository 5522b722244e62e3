import io
import json
import logging

import hypothesis
import structlog

from alliance_platform import logs


def test_phone_id_card_and_tokens_are_masked_in_text():
    text = "call 13912345678 id 11010519491231002X token eyJhbGciOi.eyJzdWIiOiJ4In0.sig order 20261128000123456789"
    masked = logs.mask_text(text)
    assert "13912345678" not in masked and "139****5678" in masked
    assert "11010519491231002X" not in masked and "110*************2X" in masked
    assert "eyJ" not in masked
    assert "20261128000123456789" in masked, "a longer run of digits is neither a phone nor an ID"


def test_every_password_of_a_several_node_amqp_uri_is_masked():
    # nameko's own sanitize_url masks the first URL of "amqp://a;amqp://b" only.
    text = "Error connecting to broker at amqp://tickets:********@n1:5672/v;amqp://tickets:s3cret@n2:5672/v"
    masked = logs.mask_text(text)
    assert "s3cret" not in masked and masked.count("tickets:********@") == 2
    assert logs.mask_text("postgresql://postgres@127.0.0.1:5432/db") == "postgresql://postgres@127.0.0.1:5432/db"


def test_every_line_is_json_masked_and_carries_the_bound_context():
    stream = io.StringIO()
    logs.configure(fmt="json", level="INFO", stream=stream)
    try:
        structlog.contextvars.bind_contextvars(service="registry", correlation_id="corr-1")
        structlog.get_logger("t").info("registered", phone="13912345678", authorization="secret-token")
        logging.getLogger("kombu.test").warning("from stdlib 13912345678")
    finally:
        structlog.contextvars.clear_contextvars()
        logs.configure(fmt="console", level="WARNING")
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["service"] == "registry" and first["correlation_id"] == "corr-1"
    assert first["phone"] == "139****5678" and first["authorization"] == "[masked]"
    assert second["event"] == "from stdlib 139****5678" and second["level"] == "warning"


def test_keys_and_credentials_are_masked_by_name_and_by_shape():
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n-----END PRIVATE KEY-----"
    fields = logs._mask(
        {"people_signing_key": "x", "SIGN_IN_CODE_SECRET": "y", "credential": "z", "note": f"loaded {pem}"}
    )
    assert fields["people_signing_key"] == fields["SIGN_IN_CODE_SECRET"] == fields["credential"] == "[masked]"
    assert "MC4CAQ" not in fields["note"] and "[private key]" in fields["note"]
    masked = logs.mask_text("exchange with alliance-system.AbC_12-xyz refused")
    assert "AbC_12" not in masked and "[credential]" in masked


def _mask_every_pattern(text):
    """mask_text without its quick pre-check: every pattern applied to every text."""
    for pattern, replacement in (
        (logs._JWT, "[token]"),
        (logs._PEM, "[private key]"),
        (logs._CREDENTIAL, "[credential]"),
        (logs._URL_PASSWORD, r"\1********@"),
        (logs._ID_CARD, r"\1*************\2"),
        (logs._MOBILE, r"\1****\2"),
    ):
        text = pattern.sub(replacement, text)
    return text


_PIECES = [
    "13912345678",
    "11010519491231002X",
    "eyJhbGciOi.eyJzdWIiOiJ4In0.sig",
    "amqp://u:pw@host/v",
    "alliance-system.ab-12",
    "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----",
    "1391234567",
    "x",
    " ",
    "9",
    "商户",
]


@hypothesis.given(hypothesis.strategies.lists(hypothesis.strategies.sampled_from(_PIECES), max_size=8))
def test_the_quick_pre_check_never_lets_a_secret_through(pieces):
    text = "".join(pieces)
    assert logs.mask_text(text) == _mask_every_pattern(text)
