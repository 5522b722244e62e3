"""Updates: what they change, and the version the caller last read."""

from alliance_platform.errors import Conflict


def check_version(noun, record, cmd):
    """An update naming ``expected_version`` applies only to that version of the record."""
    if "expected_version" in cmd and cmd["expected_version"] != record["version"]:
        raise Conflict(f"the {noun} is at version {record['version']}, not {cmd['expected_version']}")


def changes(current, requested):
    """The fields of ``requested`` whose value differs from ``current``, in a stable order."""
    return {k: v for k, v in sorted(requested.items()) if current.get(k) != v}
