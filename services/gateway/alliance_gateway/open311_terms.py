"""The words of the Open311 endpoint: what GeoReport v2 calls our things and what it may be asked.

The demand categories (GeoReport's *services*) and the handling modes are the tickets service's own,
read from its ``submit_ticket`` schema through the gateway's operations (the gateway imports no
service): their codes and Chinese names. This module adds what Open311 clients also show — English
names, descriptions, groups, keywords — and how a ticket's states read as Open311's two.
``open311.py`` serves them, ``open311_document.py`` documents them.
"""

import functools
import re
from datetime import timedelta

from marshmallow import validate

from .operations import operations

ROOT = "/open311"
PREFIX = ROOT + "/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"

# GET requests: the spec's default window and volume.
WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
# service_request_id=a,b,c: each is one call to the tickets service.
MAX_IDS = 100

# start_date, end_date: a complete date and time with its zone, as the w3 note has it
# (2026-01-01T08:00Z, 2026-01-01T08:00:00+08:00, fractions of a second allowed).
MOMENT_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
MOMENT = re.compile(MOMENT_PATTERN)
STATUS_OPTIONS = ("open", "closed")
# As the gateway's other commands take it (http.request_id).
IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,128}$")


def listed_pattern(options):
    """The pattern of a comma-delimited list of ``options``, or nothing (an empty parameter)."""
    one = "|".join(re.escape(option) for option in options)
    return f"^(({one})(,({one}))*)?$"


# The demand list's categories in the other language, and how Open311 clients group and find them.
# The codes and Chinese names are the tickets service's (its submit_ticket schema); a category
# added there is served at once, named by its code until it is described here.
CATEGORY_TEXT = {
    "bank_financing": {
        "en": "Bank–enterprise matchmaking",
        "zh_about": "融资、贷款、信贷需求，与合作银行对接",
        "en_about": "financing, loans and credit, matched with the partner banks",
        "group": "经营发展 Business growth",
        "keywords": "融资, 贷款, 银行, financing, loan, bank",
    },
    "rights_protection": {
        "en": "Rights protection",
        "zh_about": "消费、合同、租赁等纠纷中的权益维护",
        "en_about": "disputes with customers, suppliers or landlords, and legal help",
        "group": "权益维护 Rights protection",
        "keywords": "维权, 纠纷, 法律, rights, dispute, legal",
    },
    "policy_consultation": {
        "en": "Policy consultation",
        "zh_about": "税费、补贴、扶持政策的解读与咨询",
        "en_about": "taxes, subsidies and support schemes explained",
        "group": "经营发展 Business growth",
        "keywords": "政策, 补贴, 税费, policy, subsidy, tax",
    },
    "venue_sharing": {
        "en": "Venue sharing",
        "zh_about": "借用联盟共享阵地（会议室、活动场地）",
        "en_about": "using the alliance's shared rooms and activity spaces",
        "group": "阵地共享 Shared venues",
        "keywords": "阵地, 场地, 会议室, venue, room, space",
    },
    "party_affairs": {
        "en": "Party affairs",
        "zh_about": "党组织关系转接、党员管理等党务事项",
        "en_about": "Party membership transfers and branch matters",
        "group": "帮办代办 Matters handled for you",
        "keywords": "党务, 组织关系, 党员, Party affairs, membership",
    },
    "government_affairs": {
        "en": "Government affairs",
        "zh_about": "证照办理等政务事项，不出商圈办成事",
        "en_about": "licences and permits, done without leaving the district",
        "group": "帮办代办 Matters handled for you",
        "keywords": "政务, 营业执照, 证照, government, licence, permit",
    },
    "labour_social_security": {
        "en": "Labour and social security",
        "zh_about": "用工、劳动合同与社会保险事项",
        "en_about": "employment, labour contracts and social insurance",
        "group": "帮办代办 Matters handled for you",
        "keywords": "劳动, 社保, 用工, labour, social insurance, employment",
    },
    "online_shop": {
        "en": "Online shop",
        "zh_about": "开设和运营线上店铺、电商指导",
        "en_about": "opening and running a web shop, e-commerce help",
        "group": "经营发展 Business growth",
        "keywords": "网店, 电商, 线上, online shop, e-commerce",
    },
    "other": {
        "en": "Other",
        "zh_about": "党群服务中心能帮忙的其他事项",
        "en_about": "anything else the service centre can help with",
        "group": "其他 Other",
        "keywords": "其他, other",
    },
}
OTHER_GROUP = "其他 Other"

# A ticket's states as Open311's two. ``resolved`` is closed: the handlers' work is done and the
# resolution is in status_notes, though the merchant may still dispute it (the ticket then opens
# again, and so does the request).
OPEN_STATES = ("submitted", "accepted", "in_progress", "waiting_on_merchant", "referred")
CLOSED_STATES = ("resolved", "closed", "rejected", "cancelled")
STATUS_NOTES = {
    "submitted": "已受理，待承接 · Received, waiting to be taken on",
    "accepted": "已承接 · Taken on by its owner",
    "in_progress": "办理中 · Being handled",
    "waiting_on_merchant": "待您补充信息 · Waiting for your reply",
    "referred": "已转合作单位办理 · Referred to a partner (a department or a bank)",
    "resolved": "已办结，待您确认 · Resolved, awaiting your confirmation",
    "closed": "已办结 · Closed",
    "rejected": "未予受理 · Rejected",
    "cancelled": "已撤销 · Cancelled",
}
# The teams demands are routed to (the tickets service's ROUTING_RULES), by name.
TEAM_NAMES = {
    "service-centre": "党群服务中心 service centre",
    "bank-liaisons": "银行联络员 bank liaisons",
    "government-liaisons": "职能部门联络员 department liaisons",
    "party-branches": "商圈党支部 Party branches",
}
# Without a choice (attribute[handling_mode]), a demand is assisted (帮办), as child tasks are.
DEFAULT_HANDLING_MODE = "assisted"
HANDLING_ATTRIBUTE = "handling_mode"


def _submit_operation():
    for op in operations():
        if (op.service, op.method) == ("tickets", "submit_ticket"):
            return op
    return None


def _choices(field_name):
    """{code: Chinese name} of a OneOf field of tickets.submit_ticket (its validator's choices)."""
    op = _submit_operation()
    if op is None or op.schema is None or field_name not in op.schema.fields:
        return {}
    for validator in op.schema.fields[field_name].validators:
        if isinstance(validator, validate.OneOf):
            choices = validator.choices
            return dict(choices) if isinstance(choices, dict) else {code: code for code in choices}
    return {}


@functools.cache
def categories():
    """{code: Chinese name} of the demand categories, in the tickets service's order."""
    return _choices("category")


@functools.cache
def handling_modes():
    return _choices("handling_mode")


def title_limit():
    """The longest title tickets.submit_ticket takes."""
    op = _submit_operation()
    field = op.schema.fields.get("title") if op and op.schema else None
    for validator in getattr(field, "validators", ()):
        if isinstance(validator, validate.Length) and validator.max:
            return validator.max
    return 200
