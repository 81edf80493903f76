"""Stand-in images for the bases the Dockerfile and docker-compose.yml name, made from Debian packages.

Image registries are out of reach on the test machines; the Debian mirror and the package index are
not. So the compose test runs the stack on images of its own: a Debian bookworm root file system
(debootstrap --variant=minbase, then docker import) and, on it, Python, nginx, PostgreSQL and Redis
from Debian's packages, each with the few behaviours of the official image that docker-compose.yml
relies on (tests/compose/images/*/). Test-only: never shipped, never pushed; the app image is built on
them through the Dockerfile's PYTHON_IMAGE build argument and the compose file's *_IMAGE variables,
never by re-tagging them with the official names.

They are kept between runs under dashhub-test/*, each labelled with a digest of what it was made
from (this recipe, its folder, the base it was built on, and for Python the machine's CA bundle and
pip settings): a run rebuilds only what changed. `python -m tests.compose.standins` builds what is
missing and prints the image variables; `--remove` deletes them all.
"""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
REPOSITORY = "dashhub-test"
LABEL = "org.dashhub.test.recipe"
BASE = f"{REPOSITORY}/debian:bookworm"
MIRROR = os.environ.get("DASHHUB_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Every docker build of the tests takes this lock: one build at a time on the machine.
BUILD_LOCK = Path(os.environ.get("DASHHUB_TEST_BUILD_LOCK", "/tmp/dashhub-test-docker-build.lock"))

# The base: debootstrap's minimal system, then what Debian's official image adds for containers
# (no service starts in a build, no documentation, no recommends, no apt lists left behind).
DEBOOTSTRAP = ["debootstrap", "--variant=minbase", "--include=ca-certificates", "bookworm"]
BASE_SETUP = r"""
set -eu
printf '#!/bin/sh\nexit 101\n' > usr/sbin/policy-rc.d
chmod 755 usr/sbin/policy-rc.d
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  > etc/apt/apt.conf.d/90dashhub-test
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n' \
  > etc/dpkg/dpkg.cfg.d/90dashhub-test
rm -rf var/lib/apt/lists/* var/cache/apt/archives/*.deb usr/share/doc/* usr/share/man/*
: > etc/resolv.conf
: > etc/hostname
"""
BASE_CHANGES = ["ENV LANG=C.UTF-8", 'CMD ["bash"]']

# What the compose file names, and the variable that takes each stand-in.
STANDINS = {
    "PYTHON_IMAGE": ("python", f"{REPOSITORY}/python:3.11-bookworm"),
    "NGINX_IMAGE": ("nginx", f"{REPOSITORY}/nginx:1.22-bookworm"),
    "POSTGRES_IMAGE": ("postgres", f"{REPOSITORY}/postgres:15-bookworm"),
    "REDIS_IMAGE": ("redis", f"{REPOSITORY}/redis:7.0-bookworm"),
}


class StandinError(RuntimeError):
    """A stand-in image could not be made; the message says what is missing."""


def log(message: str) -> None:
    print(f"[standins] {message}", file=sys.stderr, flush=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


def docker_cli() -> str:
    found = shutil.which("docker")
    if not found:
        raise StandinError("docker is needed (Debian: apt-get install docker.io)")
    return found


def buildkit_command() -> tuple[list[str], dict[str, str]]:
    """A `docker build` that uses BuildKit (its cache outlives the images the tests remove):
    docker with the buildx plugin, or a docker client older than 23 (Debian's docker.io)
    with DOCKER_BUILDKIT=1."""
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    candidates = [docker_cli(), "/usr/bin/docker"]
    for cli in dict.fromkeys(c for c in candidates if Path(c).exists()):
        if subprocess.run([cli, "buildx", "version"], capture_output=True).returncode == 0:
            return [cli, "build"], env
        version = subprocess.run(
            [cli, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True
        ).stdout.strip()
        if version and int(version.split(".")[0]) < 23:
            return [cli, "build"], env
    raise StandinError(
        "docker builds with BuildKit are needed: install the buildx plugin, or Debian's docker.io "
        "(its /usr/bin/docker builds with BuildKit)"
    )


def image_label(image: str) -> str | None:
    """The recipe digest image carries, or None when there is no such image."""
    result = subprocess.run(
        [docker_cli(), "image", "inspect", "--format", "{{json .Config.Labels}}", image],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return None
    return (json.loads(result.stdout) or {}).get(LABEL)


def image_id(image: str) -> str:
    return run(
        [docker_cli(), "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True
    ).stdout.strip()


def digest(*parts: bytes | str | Path) -> str:
    sha = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            for path in sorted(p for p in part.rglob("*") if p.is_file()):
                sha.update(str(path.relative_to(part)).encode() + b"\0" + path.read_bytes() + b"\0")
        else:
            sha.update(part.encode() if isinstance(part, str) else part)
            sha.update(b"\0")
    return sha.hexdigest()[:16]


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One docker build at a time on the machine (another run waits here)."""
    BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with BUILD_LOCK.open("a") as handle:
        started = time.monotonic()
        fcntl.flock(handle, fcntl.LOCK_EX)
        waited = time.monotonic() - started
        if waited > 1:
            log(f"waited {waited:.0f} s for another docker build to finish")
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_if_dangling(old_id: str | None) -> None:
    """The previous build of a re-tagged image, once nothing names it."""
    if old_id:
        subprocess.run([docker_cli(), "rmi", old_id], capture_output=True)


def ensure_base() -> str:
    """The Debian base image (debootstrap, then docker import), built when its recipe changed."""
    recipe = digest(" ".join(DEBOOTSTRAP), MIRROR, BASE_SETUP, *BASE_CHANGES)
    if image_label(BASE) == recipe:
        return BASE
    if os.geteuid() != 0:
        raise StandinError(f"{BASE} must be made with debootstrap, which needs root: run the tests as root")
    if not shutil.which("debootstrap"):
        raise StandinError(f"{BASE} is made with debootstrap: apt-get install debootstrap")
    old = image_id(BASE) if image_label(BASE) is not None else None
    started = time.monotonic()
    log(f"making {BASE} with debootstrap from {MIRROR} (about a minute)")
    with tempfile.TemporaryDirectory(prefix="dashhub-debootstrap-") as tmp:
        root = Path(tmp) / "rootfs"
        result = subprocess.run([*DEBOOTSTRAP, str(root), MIRROR], capture_output=True, text=True)
        if result.returncode != 0:
            raise StandinError(
                f"debootstrap failed (is {MIRROR} reachable?):\n"
                f"{result.stdout[-3000:]}{result.stderr[-2000:]}"
            )
        run(["sh", "-c", BASE_SETUP], cwd=root)
        changes = [
            arg for change in [*BASE_CHANGES, f"LABEL {LABEL}={recipe}"] for arg in ("--change", change)
        ]
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        run([docker_cli(), "import", *changes, "-", BASE], stdin=tar.stdout, stdout=subprocess.DEVNULL)
        if tar.wait() != 0:
            raise StandinError("tar of the debootstrap root failed")
    remove_if_dangling(old)
    log(f"{BASE} made in {time.monotonic() - started:.0f} s")
    return BASE


# pip.conf key: the names pip reads it under (environment, then `pip config list`).
SHARED_PIP_SETTINGS = {
    "index-url": ("PIP_INDEX_URL", "index-url"),
    "extra-index-url": ("PIP_EXTRA_INDEX_URL", "extra-index-url"),
    "trusted-host": ("PIP_TRUSTED_HOST", "trusted-host"),
    "timeout": ("PIP_DEFAULT_TIMEOUT", "PIP_TIMEOUT", "default-timeout", "timeout"),
}


def pip_settings() -> tuple[bytes, str]:
    """The machine's CA bundle and the pip settings a build needs to reach the package index the
    way this machine does (its index addresses over http(s), timeout), as a pip.conf."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, env=os.environ
    )
    settings: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        settings[key.split(".", 1)[-1]] = value.strip().strip("'\"")
    bundle = Path(
        os.environ.get("PIP_CERT") or settings.get("cert") or "/etc/ssl/certs/ca-certificates.crt"
    ).read_bytes()
    config = configparser.ConfigParser()
    config["global"] = {"cert": "/etc/ssl/certs/ca-certificates.crt"}
    for key, names in SHARED_PIP_SETTINGS.items():
        value = next((os.environ[n] for n in names if os.environ.get(n)), None)
        value = value or next((settings[n] for n in names if settings.get(n)), None)
        if value and key.endswith("index-url"):  # file:// indexes and links stay on this machine
            value = " ".join(u for u in value.split() if u.startswith(("http://", "https://")))
        if value:
            config["global"][key] = value
    text = "# Written by tests/compose/standins.py from this machine's pip settings.\n"
    with tempfile.TemporaryFile("w+") as handle:
        config.write(handle)
        handle.seek(0)
        text += handle.read()
    return bundle, text


def ensure_standin(name: str, tag: str, base: str) -> str:
    """One stand-in (tests/compose/images/name) on base, built when its recipe changed."""
    folder = IMAGES / name
    extra: dict[str, bytes | str] = {}
    if name == "python":
        bundle, pip_conf = pip_settings()
        extra = {"ca-certificates.crt": bundle, "pip.conf": pip_conf}
    recipe = digest(image_id(base), folder, *(f"{k}\0" for k in sorted(extra)), *extra.values())
    if image_label(tag) == recipe:
        return tag
    old = image_id(tag) if image_label(tag) is not None else None
    command, env = buildkit_command()
    started = time.monotonic()
    log(f"building {tag} from Debian packages")
    with tempfile.TemporaryDirectory(prefix=f"dashhub-standin-{name}-") as tmp:
        context = Path(tmp) / name
        shutil.copytree(folder, context)
        for filename, content in extra.items():
            target = context / filename
            target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
        result = subprocess.run(
            [*command, "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
             "--label", f"{LABEL}={recipe}", "--tag", tag, str(context)],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
    if result.returncode != 0:
        raise StandinError(f"building {tag} failed:\n{result.stdout[-4000:]}{result.stderr[-4000:]}")
    remove_if_dangling(old)
    log(f"{tag} built in {time.monotonic() - started:.0f} s")
    return tag


def ensure_all() -> dict[str, str]:
    """Every stand-in, made or reused; returns the compose variables naming them."""
    with build_lock():
        base = ensure_base()
        return {variable: ensure_standin(name, tag, base) for variable, (name, tag) in STANDINS.items()}


def remove_all() -> None:
    for _variable, (_name, tag) in STANDINS.items():
        subprocess.run([docker_cli(), "rmi", tag], capture_output=True)
    subprocess.run([docker_cli(), "rmi", BASE], capture_output=True)


def main(argv: list[str]) -> int:
    if argv[1:] == ["--remove"]:
        remove_all()
        return 0
    if argv[1:]:
        print("usage: python -m tests.compose.standins [--remove]", file=sys.stderr)
        return 2
    try:
        images = ensure_all()
    except (StandinError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for variable, image in images.items():
        print(f"{variable}={image}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
