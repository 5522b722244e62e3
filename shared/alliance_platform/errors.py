"""Typed errors that cross the wire.

Every class here is registered with nameko's exception registry, so a Python caller of any
alliance service catches exactly the class the service raised (``except NotFound``), with the
same arguments, instead of a generic ``RemoteError``. Arguments are positional and JSON-safe
because nameko rebuilds the exception as ``cls(*exc_args)`` on the caller's side.
"""

from nameko.exceptions import deserialize_to_instance


class AllianceError(Exception):
    """Base of every error a caller is meant to handle."""

    code = "error"

    def __init__(self, message=""):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


@deserialize_to_instance
class ValidationError(AllianceError):
    """Input failed validation; ``fields`` maps each field to its messages."""

    code = "validation_error"

    def __init__(self, message="invalid input", fields=None):
        fields = fields or {}
        Exception.__init__(self, message, fields)
        self.message = message
        self.fields = fields

    def __str__(self):
        return f"{self.message}: {self.fields}" if self.fields else self.message


@deserialize_to_instance
class NotFound(AllianceError):
    code = "not_found"


@deserialize_to_instance
class Conflict(AllianceError):
    """The request contradicts the current state (duplicate, illegal transition, lost race)."""

    code = "conflict"


@deserialize_to_instance
class Forbidden(AllianceError):
    """The caller is known but may not do this."""

    code = "forbidden"


@deserialize_to_instance
class Unauthenticated(AllianceError):
    """No identity, or one that is expired, forged or malformed."""

    code = "unauthenticated"


@deserialize_to_instance
class ServiceTimeout(AllianceError):
    """A call to another service got no answer in time; it may or may not have run."""

    code = "timeout"


@deserialize_to_instance
class ServiceUnavailable(AllianceError):
    """The target service or a resource it needs cannot be reached."""

    code = "unavailable"
