"""Chinese on a machine without CJK fonts: the console serves a CJK face installed beside the
gateway as a web font, which the CSS names after the fonts a
reader's machine may have — a browser that has one of them never downloads it. Served as the
face's own sfnt (one face cut out of a collection; no font library needed at run time).

``CONSOLE_CJK_FONT`` (config) names the file (``path`` or ``path#index`` in a collection); else
fontconfig's first Chinese face, else Debian's fonts-wqy-microhei or fonts-noto-cjk. None found:
the CSS's other fonts are all there is (the page still works)."""

import gzip
import struct
from pathlib import Path

import eventlet
from eventlet import tpool

from alliance_platform.fonts import installed_cjk_faces

PREFERRED = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC")
KNOWN = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)

_made = {}
_lock = eventlet.semaphore.Semaphore()


def _installed():
    found = installed_cjk_faces(timeout=10)
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


def one_face(data, index=0):
    """The sfnt (TrueType/OpenType) bytes of face ``index`` of a font collection (TTC/OTC: browsers
    load single faces only); ``data`` itself when it is a single face already."""
    if data[:4] != b"ttcf":
        return data
    count = struct.unpack_from(">I", data, 8)[0]
    if not 0 <= index < count:
        raise ValueError(f"the collection has {count} faces, not {index + 1}")
    start = struct.unpack_from(">I", data, 12 + 4 * index)[0]
    version, tables = struct.unpack_from(">IH", data, start)
    records = [struct.unpack_from(">4sIII", data, start + 12 + 16 * n) for n in range(tables)]
    header = bytearray(data[start : start + 12])
    directory, body = bytearray(), bytearray()
    offset = 12 + 16 * tables
    for tag, checksum, at, length in records:
        directory += struct.pack(">4sIII", tag, checksum, offset + len(body), length)
        body += data[at : at + length] + b"\0" * (-length % 4)
    return bytes(header + directory + body)


def _face(font):
    """(the face, gzipped, its media type)."""
    path, index = font
    face = one_face(Path(path).read_bytes(), index)
    return face, gzip.compress(face, 6), "font/otf" if face[:4] == b"OTTO" else "font/ttf"


def web_font(configured=None):
    """(the console's CJK face, the same gzipped, its media type) or None; made once per process,
    off the hub."""
    with _lock:
        if configured not in _made:
            font = _chosen(configured)
            _made[configured] = tpool.execute(_face, font) if font else None
    return _made[configured]
