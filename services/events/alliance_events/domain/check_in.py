"""Check-in at the door, the same for an activity's registrants and a branch meeting's invitees:
each holds a code of their own (on a card or a phone, also as a QR code), an organiser checks them
in by it, and attendance is counted from who came.

Codes avoid characters people misread on a printed card (0/O, 1/I/L); one typed in lower case or
with spaces around is the same code.
"""

import secrets

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def code(length=CODE_LENGTH):
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalised(typed):
    """The code as stored, from what was typed or scanned."""
    return typed.strip().upper()


def rate(came, expected):
    """Attendance as a share of those expected, to three places; None when nobody was expected."""
    return round(came / expected, 3) if expected else None
