"""The daily digest: a person's low-urgency messages that waited for the digest time go out as one
message per recipient and channel, rendered with the ``digest`` template.

Each message a digest carries becomes ``batched`` under the digest's own delivery, which goes like
any other (rate limit, retries, dead); when the digest ends, its messages end with it. The inbox is
never digested: it has every message already.
"""

import itertools

TEMPLATE = SOURCE = "digest"  # a digest's notification names itself as its source and rule
BATCH = 5000  # messages gathered per run; the rest wait for the next one


def gather(due):
    """The digests to make of ``due`` messages (ordered by recipient and channel): a list of
    ((recipient, channel), [message, ...])."""
    by_whom = itertools.groupby(due, key=lambda message: (message["recipient"], message["channel"]))
    return [(whom, list(messages)) for whom, messages in by_whom]


def variables(messages):
    """What the digest template is rendered with."""
    return {
        "count": len(messages),
        "items": [{"title": m["text"]["title"], "body": m["text"]["body"]} for m in messages],
    }
