"""The fonts with Chinese glyphs installed here, as fontconfig lists them: what the staff console
serves to readers without one and what the monthly report carries. Standard library only."""

import subprocess

FACE_FILES = (".ttf", ".otf", ".ttc", ".otc")


def installed_cjk_faces(timeout=10):
    """{family: (path, index in its collection)} of the installed Chinese faces in fontconfig's
    order, monospaced ones left out; empty when fontconfig is missing or fails."""
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh-cn", "--format", "%{file}|%{index}|%{family[0]}\\n"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found = {}
    for line in listed.splitlines():
        path, _, rest = line.partition("|")
        index, _, family = rest.partition("|")
        if path.endswith(FACE_FILES) and "Mono" not in family:
            found.setdefault(family, (path, int(index or 0)))
    return found
