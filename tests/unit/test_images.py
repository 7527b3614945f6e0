"""The one image (deploy/docker/Dockerfile): what it is built from, who it runs as, what its build context holds,
and that compose and Kubernetes run nothing else.

Offline: no Docker daemon. The image's install steps are the ones `make deploy-lock` keeps working (see
deploy/README.md, "Images"); here the files that drive them are checked.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
HASHES = REPO / "deploy" / "requirements.hashes.txt"
IMAGE = "massline/massline"
# Installed in the image to build the local packages, pinned in the lock like the rest.
BUILD_TOOLS = {"setuptools"}


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_there_is_one_dockerfile() -> None:
    assert sorted(p.name for p in (REPO / "deploy" / "docker").iterdir()) == ["Dockerfile"]


def test_every_stage_starts_from_python_3_11_slim_pinned_by_digest() -> None:
    steps = _instructions()
    args = dict(a.split("=", 1) for word, a in steps if word == "ARG" and "=" in a)
    base = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", base), base
    froms = [a.split()[0] for word, a in steps if word == "FROM"]
    assert froms and all(f == "${PYTHON_IMAGE}" for f in froms), froms
    assert "imagetools inspect" in DOCKERFILE.read_text(encoding="utf-8"), "say how to refresh the digest"


def test_dependencies_come_only_from_the_hashed_lock_and_local_packages_after() -> None:
    runs = [a for word, a in _instructions() if word == "RUN" and "pip install" in a]
    assert len(runs) == 2, runs
    locked, local = runs
    assert "--require-hashes" in locked and "--no-deps" in locked
    assert "-r deploy/requirements.hashes.txt" in locked
    assert "--no-deps" in local and "--no-build-isolation" in local  # nothing unpinned fetched to build them
    assert re.search(r"\./shared \.(\s|$)", local) and "pip check" in local


def test_the_image_runs_as_a_fixed_non_root_user_with_a_liveness_check() -> None:
    final = _final_stage()
    users = [a for word, a in final if word == "USER"]
    assert users and users[-1] == "10001:10001"
    checks = [a for word, a in final if word == "HEALTHCHECK"]
    assert checks and "http://127.0.0.1:8080/health/live" in checks[-1] and "curl" not in checks[-1]
    cmd = [a for word, a in final if word == "CMD"]
    assert cmd and json.loads(cmd[-1])[0] == "massline"


def _ignored(patterns: list[str], path: str) -> bool:
    """Whether .dockerignore leaves `path` out (last matching pattern wins; `!` brings back)."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.removeprefix("**/")) for p in prefixes) \
                or (pattern.startswith("**/") and any(fnmatch.fnmatch(x, pattern[3:]) for x in parts)):
            result = not negate
    return result


def _readme_dockerignore() -> list[str]:
    readme = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    section = readme.split("### `.dockerignore`", 1)[1]
    block = section.split("```", 2)[1]
    return [line.strip() for line in block.splitlines()[1:] if line.strip()]


def test_dockerignore_is_what_the_readme_says_and_keeps_what_the_build_copies() -> None:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns == _readme_dockerignore()
    for needed in ("shared/massline/auth.py", "shared/pyproject.toml", "pyproject.toml",
                   "services/submission/migrations/0001_submission.sql", "deploy/requirements.hashes.txt"):
        assert not _ignored(patterns, needed), f"{needed} is copied by the Dockerfile but ignored"
    for left_out in (".git/config", ".venv/bin/python", "tests/conftest.py", "docs/scaling.md",
                     "services/submission/__pycache__/app.cpython-311.pyc", "deploy/k8s/gateway.yaml",
                     "test-artifacts/logs/x.log", ".massline/pg/PG_VERSION", "docker-compose.yml"):
        assert _ignored(patterns, left_out), f"{left_out} reaches the build context"
    copied = [a.split()[0] for word, a in _instructions() if word == "COPY" and not a.startswith("--from")]
    for source in copied:
        assert not _ignored(patterns, source.rstrip("/")), f"COPY {source} but .dockerignore drops it"


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_the_hashed_lock_pins_what_requirements_lock_pins() -> None:
    hashed = _pins(HASHES.read_text(encoding="utf-8"))
    locked = _pins((REPO / "requirements.lock").read_text(encoding="utf-8"))
    differ = {name: (version, locked.get(name)) for name, version in hashed.items() if locked.get(name) != version}
    assert differ == {}, f"deploy/requirements.hashes.txt disagrees with requirements.lock: run make deploy-lock {differ}"
    # every pin carries at least one sha256, as pip --require-hashes demands
    blocks = re.split(r"\n(?=[A-Za-z0-9])", HASHES.read_text(encoding="utf-8"))
    unhashed = [b.split()[0] for b in blocks if "==" in b.split("\n")[0] and "--hash=sha256:" not in b]
    assert unhashed == []


def _runtime_closure() -> set[str]:
    """What massline and massline-shared need at run time (no extras of theirs), as installed from the lock."""
    seen: dict[str, set[str]] = {}
    todo: list[tuple[str, tuple[str, ...]]] = [("massline", ()), ("massline-shared", ())]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in seen and set(extras) <= seen[key]:
            continue
        seen.setdefault(key, set()).update(extras)
        for text in importlib.metadata.requires(name) or []:
            req = Requirement(text)
            if any(req.marker is None or req.marker.evaluate({"extra": e}) for e in (extras or ("",))):
                todo.append((req.name, tuple(req.extras)))
    return set(seen) - {"massline", "massline-shared"}


def test_the_hashed_lock_holds_exactly_what_the_services_need() -> None:
    try:
        closure = _runtime_closure()
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("massline is not installed here (make install)")
    hashed = set(_pins(HASHES.read_text(encoding="utf-8")))
    assert hashed - BUILD_TOOLS == closure, (
        f"missing: {sorted(closure - hashed)}, not needed: {sorted(hashed - BUILD_TOOLS - closure)}; "
        "run make deploy-lock")
    assert BUILD_TOOLS <= hashed


def _k8s_containers() -> list[tuple[str, dict]]:
    found = []
    for path in sorted((REPO / "deploy" / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            pod = ((doc or {}).get("spec") or {}).get("template", {}).get("spec", {})
            found += [(f"{path.name}:{c['name']}", c) for c in pod.get("containers", [])]
    return found


def test_kubernetes_runs_the_one_image_everywhere() -> None:
    containers = _k8s_containers()
    assert len(containers) == 10  # seven services, the lag exporter, the migration and the first administrator
    for where, container in containers:
        assert container["image"].rpartition(":")[0] == IMAGE, where
        assert container["command"][0] == "massline", where
    kustomization = yaml.safe_load((REPO / "deploy" / "k8s" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert [i["name"] for i in kustomization["images"]] == [IMAGE]
    tags = {c["image"].rpartition(":")[2] for _, c in containers}
    assert tags == {kustomization["images"][0]["newTag"]}


def test_compose_runs_the_one_image_everywhere() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    ours = {name: svc for name, svc in compose["services"].items() if "massline" in str(svc.get("image", ""))}
    assert len(ours) == 10  # seven services, the lag exporter, the migration and the first administrator
    for name, svc in ours.items():
        assert svc["image"] == IMAGE + ":${MASSLINE_IMAGE_TAG:-local}", name
        assert svc["build"]["dockerfile"] == "deploy/docker/Dockerfile", name
        assert svc["command"][0] == "massline", name
