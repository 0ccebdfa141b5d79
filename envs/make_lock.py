"""Write the exact lock of the environment: ``requirements-lock.txt`` at the repository root.

    .venv/bin/python envs/make_lock.py            # (or: make lock)

The lock pins every distribution of the project's dependency closure (pyproject's
``dependencies`` and the ``test`` extra, then their requirements, recursively, with the
markers of this interpreter and platform) to the version installed in this environment: the
ranges in pyproject.toml say what may work, the lock says what the tests ran with.  Install
it with ``pip install -r requirements-lock.txt`` and then ``pip install --no-deps -e .``.
"""

from __future__ import annotations

import platform
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements-lock.txt"
EXTRAS = ("test",)


def project_requirements(pyproject: Path = REPO / "pyproject.toml",
                         extras=EXTRAS) -> list[Requirement]:
    """The project's direct requirements (with ranges) from pyproject.toml."""
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return [Requirement(r) for r in reqs]


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in (extras or {""}))


def closure(requirements: list[Requirement]) -> dict[str, str]:
    """Canonical name -> installed version of every distribution the requirements need
    (recursively); a required distribution that is not installed raises LookupError."""
    found: dict[str, str] = {}
    todo = [(r, set()) for r in requirements]
    seen: set[tuple[str, frozenset]] = set()
    while todo:
        req, parent_extras = todo.pop()
        if not _applies(req, parent_extras):
            continue
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise LookupError(f"{req.name} (needed as {req}) is not installed") from None
        found[name] = dist.version
        todo += [(Requirement(r), set(req.extras)) for r in dist.requires or []]
    return found


def lock_text() -> str:
    pins = closure(project_requirements())
    head = (f"# Exact versions of gmos-snake's dependency closure (written by envs/make_lock.py;"
            f" Python {platform.python_version()}, {sys.platform}).\n"
            "# pip install -r requirements-lock.txt && pip install --no-deps -e .\n")
    return head + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


if __name__ == "__main__":
    LOCK.write_text(lock_text())
    print(f"wrote {LOCK}")
