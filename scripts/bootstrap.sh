#!/usr/bin/env bash
# Creates .venv with Python 3.11 and installs the platform, the four services, the HTTP gateway and the dev tools,
# pinned by constraints.txt, and the few system packages the tests need (below). Safe to run again:
# pip only installs what changed, apt-get only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

if ! PY=$(find_python); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Python 3.11 from Debian's packages"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv python3-dev
    PY=$(find_python) || { echo "bootstrap: Debian's python3 is not 3.11; install Python 3.11 and set PYTHON=" >&2; exit 1; }
  else
    echo "bootstrap: Python 3.11 with venv is missing; install it (Debian: apt-get install python3.11 python3.11-venv) or set PYTHON=/path/to/python3.11" >&2
    exit 1
  fi
fi

# System packages beyond Python, from Debian's packages: Chromium, in which tests look at pages as a
# person sees them (tests/support/browser.py), and a CJK font, whose glyphs the monthly report carries.
# Add a package here when a test or a tool needs one. Quiet when all are installed.
SYSTEM_PACKAGES=(chromium fonts-wqy-microhei)

ensure_system_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${missing[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing ${missing[*]} (the browser tests and the report's font need them);" \
      "install them (Debian: apt-get install ${missing[*]})" >&2
  fi
}

ensure_system_packages "${SYSTEM_PACKAGES[@]}"

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $PY"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt \
  -e shared -e services/registry -e services/tickets -e services/events -e services/notifications -e services/gateway -e shared/ops \
  -r requirements-dev.txt
echo "bootstrap: .venv ready"

# Node.js and npm: the interop client and the AsyncAPI validator in tests/interop/ run on the
# machine's own; where there are none, Debian's packages like the system packages above (a node
# that is there already, Debian's or another's, is left as it is). The npm packages are installed
# from tests/interop/package-lock.json, again only when it changed since they were installed
# (npm writes node_modules/.package-lock.json as it finishes); no package needs its install scripts.
ensure_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing nodejs npm from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    echo "bootstrap: node and npm are missing (the interop tests need them);" \
      "install them (Debian: apt-get install nodejs npm)" >&2
    return 1
  fi
}

INTEROP=tests/interop
if ensure_node; then
  installed=$INTEROP/node_modules/.package-lock.json
  if [ ! -f "$installed" ] || [ "$INTEROP/package-lock.json" -nt "$installed" ] || [ "$INTEROP/package.json" -nt "$installed" ]; then
    echo "bootstrap: installing $INTEROP's npm packages"
    (cd "$INTEROP" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
fi
