"""Chinese on a machine without CJK fonts: the console serves a CJK face installed beside the
gateway as a web font (WOFF, one face of a collection), which the CSS names after the fonts a
reader's machine may have — a browser that has one of them never downloads it.

``CONSOLE_CJK_FONT`` (config) names the file (``path`` or ``path#index`` in a collection); else
fontconfig's first Chinese face, else Debian's fonts-wqy-microhei or fonts-noto-cjk. None found:
the CSS's other fonts are all there is (the page still works)."""

import io
import subprocess
from pathlib import Path

import eventlet
from eventlet import tpool

PREFERRED = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC")
KNOWN = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)

_made = {}
_lock = eventlet.semaphore.Semaphore()


def _installed():
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh-cn", "--format", "%{file}|%{index}|%{family[0]}\\n"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listed = ""
    found = {}
    for line in listed.splitlines():
        path, _, rest = line.partition("|")
        index, _, family = rest.partition("|")
        if path.endswith((".ttf", ".otf", ".ttc", ".otc")) and "Mono" not in family:
            found.setdefault(family, (path, int(index or 0)))
    for family in PREFERRED:
        if family in found:
            return found[family]
    if found:
        return next(iter(found.values()))
    return next(((path, 0) for path in KNOWN if Path(path).exists()), None)


def _chosen(configured):
    if configured:
        path, _, index = str(configured).partition("#")
        return (path, int(index or 0)) if Path(path).exists() else None
    return _installed()


def _woff(font):
    from fontTools.ttLib import TTFont

    path, index = font
    with TTFont(path, fontNumber=index, lazy=False) as face:
        face.flavor = "woff"
        buffer = io.BytesIO()
        face.save(buffer)
    return buffer.getvalue()


def web_font(configured=None):
    """The WOFF bytes of the console's CJK face, or None; made once per process, off the hub."""
    with _lock:
        if configured not in _made:
            font = _chosen(configured)
            _made[configured] = tpool.execute(_woff, font) if font else None
    return _made[configured]
