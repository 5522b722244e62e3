"""Every file or folder the README names exists in a fresh clone (is tracked by git), so that a
newcomer who follows it finds what it points to."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
# Made by the set-up or by a command, not cloned: the README says which step makes each.
MADE_BY_SETUP = {".venv", ".local", "report-2026-11.html"}
_EXTENSIONS = r"\.(md|py|yaml|yml|txt|sh|sql|j2|json|toml|html|js|csv|xlsx)"


def _tracked():
    """Every tracked file and every folder holding one, as a fresh clone has them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    paths = set()
    for name in filter(None, listed):
        path = Path(name)
        paths.add(path)
        paths.update(path.parents)
    return paths


def _looks_like_path(text):
    if re.search(r"[\s<>*${}:=()\"',]", text) or text.startswith(("-", "/", "~")) or "://" in text:
        return False
    return "/" in text.strip("/") or text.endswith("/") or bool(re.search(_EXTENSIONS + "$", text))


def named_paths(markdown):
    """(path, base folders) for each path the text names: in backticks, as a link target, or as the
    first word of a line in a fenced block of the folder tree. A name may be relative to a folder
    that the section's heading names in backticks (``## The platform (`shared/alliance_platform`)``)
    or that its own paragraph or list item named before it (``- `tests/e2e/` ... `test_x.py` ``)."""
    named, heading, item, fence = [], [], [], None
    for line in markdown.splitlines():
        if line.startswith("```"):
            fence = None if fence is not None else line
            continue
        if fence is not None:
            first = line.split(maxsplit=1)[0] if line.strip() else ""
            if fence == "```" and first.endswith("/") and _looks_like_path(first):
                named.append((first, tuple(heading)))
            continue
        if line.startswith("#"):
            heading = [t for t in re.findall(r"`([^`]+)`", line) if _looks_like_path(t)][:1]
        if not line.strip() or re.match(r"\s*([-*]|\d+\.) ", line) or line.startswith("#"):
            item = []
        for text in re.findall(r"`([^`]+)`", line):
            if _looks_like_path(text):
                named.append((text, (*heading, *item)))
                if text.endswith("/"):
                    item.append(text)
        for target in re.findall(r"\]\(([^)#\s]+)", line):
            if "://" not in target and not target.startswith("mailto:"):
                named.append((target, tuple(heading)))
    return named


def _roots(bases):
    """Where a name may be relative to: the repository, the folders it was named under, a package's folders."""
    roots = [Path("."), *(Path(base.strip("/")) for base in bases)]
    packages = [Path("shared"), *sorted(p.relative_to(ROOT) for p in (ROOT / "services").iterdir() if p.is_dir())]
    for package in packages:  # a distribution's folder and its importable packages (alliance_*)
        roots += [package, *sorted(p.relative_to(ROOT) for p in (ROOT / package).glob("alliance_*") if p.is_dir())]
    return roots


def test_every_path_the_readme_names_is_in_a_fresh_clone():
    tracked = _tracked()
    named = named_paths((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(named) > 20, named  # the README names many; finding few means the parser broke
    missing = []
    for text, bases in named:
        name = Path(text.strip("/"))
        if name.parts[0] in MADE_BY_SETUP:
            continue
        if not any(root / name in tracked for root in _roots(bases)):
            missing.append(text)
    assert not missing, f"README.md names paths a fresh clone does not have: {sorted(set(missing))}"


@pytest.mark.parametrize(
    "markdown, found",
    [
        ("see `docs/DOMAIN.md` and `../shared/DOMAIN.md`", ["docs/DOMAIN.md", "../shared/DOMAIN.md"]),
        ("[the domain](docs/DOMAIN.md), [site](https://example.org/x.md)", ["docs/DOMAIN.md"]),
        ("`make test`, `AMQP_URI`, `0.0.0.0:8101`, `${VAR:default}`, `GET /metrics`, `/root`", []),
        ("```\nservices/registry/  the register\nshared/  the platform\n```", ["services/registry/", "shared/"]),
        ("```sh\nmake run    # set up\n```", []),
    ],
)
def test_the_readme_parser_finds_paths_and_only_paths(markdown, found):
    assert [text for text, _ in named_paths(markdown)] == found


def test_a_path_outside_the_clone_is_reported_missing():
    tracked = _tracked()
    for text, bases in named_paths("The domain is described in `../shared/DOMAIN.md`."):
        assert not any(root / Path(text) in tracked for root in _roots(bases))


def test_a_name_is_relative_to_the_folder_its_list_item_named_before_it():
    markdown = "- `tests/e2e/` — end to end.\n  `test_demo.py`: the demo.\n- `tests/unit/` — `x.py`\n\n`y.py`"
    assert named_paths(markdown) == [
        ("tests/e2e/", ()),
        ("test_demo.py", ("tests/e2e/",)),
        ("tests/unit/", ()),
        ("x.py", ("tests/unit/",)),
        ("y.py", ()),
    ]
