"""The exact lock (requirements-lock.txt) is consistent with the ranges of pyproject.toml and
envs/gmos.yaml, and closed: every requirement of a pinned distribution is pinned too, at a
version its range accepts (what pip's resolver would check, without the network)."""

from __future__ import annotations

import importlib.util
import re
from importlib import metadata

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.workflow_helpers import REPO

LOCK = REPO / "requirements-lock.txt"


def _make_lock():
    spec = importlib.util.spec_from_file_location("make_lock", REPO / "envs" / "make_lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins() -> dict[str, Version]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", line.strip())
        assert m, f"requirements-lock.txt: {line!r} is not NAME==VERSION"
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"{name} pinned twice"
        pins[name] = Version(m.group(2))
    return pins


def test_lock_pins_every_project_requirement_within_its_range():
    pins = _pins()
    for req in _make_lock().project_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in requirements-lock.txt"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"lock has {name}=={pins[name]}, pyproject asks {req}"


def test_conda_environment_ranges_accept_the_lock():
    pins = _pins()
    env = yaml.safe_load((REPO / "envs" / "gmos.yaml").read_text())
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    deps += [d for d in env["dependencies"] if isinstance(d, dict) for d in d.get("pip", [])]
    checked = 0
    for dep in deps:
        req = Requirement(dep)
        name = canonicalize_name(req.name)
        if name in ("python", "pip"):
            continue
        assert name in pins, f"envs/gmos.yaml needs {dep}, not in the lock"
        assert req.specifier.contains(pins[name], prereleases=True), (dep, str(pins[name]))
        checked += 1
    assert checked >= 10


def test_lock_is_closed():
    """Each pinned distribution installed here at its pinned version has all its (applicable)
    requirements pinned, within their ranges."""
    pins = _pins()
    checked = 0
    for name, version in pins.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if Version(dist.version) != version:
            continue
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            dep = canonicalize_name(req.name)
            assert dep in pins, f"{name}=={version} needs {req}, which the lock lacks"
            assert req.specifier.contains(pins[dep], prereleases=True), \
                f"{name}=={version} needs {req}, the lock has {dep}=={pins[dep]}"
        checked += 1
    assert checked >= 0.9 * len(pins), "the environment differs from the lock: make lock"
