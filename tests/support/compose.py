"""The repository's docker-compose.yml, run for real: a project of the test's own, waited for service by
service, with every container's state, health log and output in the message when something is wrong.

Everything the project creates carries its name (dashhub-e2e-<pid>-<random>): containers, network
and volumes by compose's labels, the app image by its tag. `remove` deletes all of it; a project
whose test process is gone (a run killed before its clean-up) is removed by the next run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

PREFIX = "dashhub-e2e-"
APP_REPOSITORY = "dashhub-e2e/app"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# What docker-compose.yml runs: containers per service (init runs once and exits 0).
EXPECTED = {"nginx": 1, "app": 2, "worker": 1, "init": 1, "postgres": 1, "redis": 1}
# Variables compose reads from the process environment; nothing else of the test's environment may
# reach it (the shell's values would override .env).
PASSED_THROUGH = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "LANG", "TMPDIR")


class ComposeError(AssertionError):
    """The stack did not do what the compose file says; the message holds the evidence."""


def docker(*args: str, check: bool = True, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise ComposeError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def daemon_problem() -> str | None:
    """None when the docker daemon answers, else what is missing, in words."""
    if not shutil.which("docker"):
        return "docker is not installed (Debian: apt-get install docker.io)"
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                                capture_output=True, text=True, timeout=30)  # fmt: skip
    except subprocess.TimeoutExpired:
        return "the docker daemon does not answer `docker info` within 30 s"
    if result.returncode == 0:
        return None
    hint = (
        "scripts/test.sh starts it when run as root (dockerd, log in /var/log/dashhub-test-dockerd.log); "
        "or start it yourself: `dockerd &` or `systemctl start docker`"
    )
    return f"the docker daemon does not answer ({result.stderr.strip()[-500:]}); {hint}"


def compose_command() -> list[str]:
    """docker compose v2 when the plugin is there, else docker-compose (v1, Debian's 1.29)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    found = shutil.which("docker-compose")
    if not found:
        raise ComposeError("docker compose is needed: the compose plugin, or docker-compose (Debian package)")
    return [found]


def compose_version(command: list[str]) -> str:
    return subprocess.run([*command, "version", "--short"], capture_output=True, text=True).stdout.strip()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(project: str) -> int | None:
    match = re.match(rf"{PREFIX}(\d+)-", project)
    return int(match.group(1)) if match else None


def remove_project(project: str) -> list[str]:
    """Remove every container, network, volume and app image of project; returns what it removed."""
    removed = []
    label = f"label={PROJECT_LABEL}={project}"
    containers = docker("ps", "-aq", "--filter", label).stdout.split()
    if containers:
        docker("rm", "-f", "-v", *containers, check=False)
        removed += [f"container {c}" for c in containers]
    for kind in ("network", "volume"):
        names = docker(kind, "ls", "-q", "--filter", label).stdout.split()
        if names:
            docker(kind, "rm", *names, check=False)
            removed += [f"{kind} {n}" for n in names]
    image = f"{APP_REPOSITORY}:{project}"
    if docker("image", "inspect", image, check=False).returncode == 0:
        docker("rmi", "-f", image, check=False)
        removed.append(f"image {image}")
    return removed


def remove_abandoned_projects() -> list[str]:
    """Projects of test processes that are gone (killed before their clean-up)."""
    projects = set()
    for kind in ("ps -a", "network ls", "volume ls"):
        listing = docker(*kind.split(), "--filter", f"label={PROJECT_LABEL}",
                         "--format", f'{{{{.Label "{PROJECT_LABEL}"}}}}').stdout.split()  # fmt: skip
        projects.update(p for p in listing if p.startswith(PREFIX))
    images = docker("images", APP_REPOSITORY, "--format", "{{.Tag}}").stdout.split()
    projects.update(t for t in images if t.startswith(PREFIX))
    removed = []
    for project in sorted(projects):
        owner = _owner(project)
        if owner is not None and not _pid_alive(owner):
            removed += remove_project(project)
    return removed


def left_behind(project: str) -> list[str]:
    """Anything of project still there (containers, networks, volumes, the app image)."""
    label = f"label={PROJECT_LABEL}={project}"
    found = [f"container {c}" for c in docker("ps", "-aq", "--filter", label).stdout.split()]
    for kind in ("network", "volume"):
        found += [f"{kind} {n}" for n in docker(kind, "ls", "-q", "--filter", label).stdout.split()]
    if docker("image", "inspect", f"{APP_REPOSITORY}:{project}", check=False).returncode == 0:
        found.append(f"image {APP_REPOSITORY}:{project}")
    return found


@dataclass
class ComposeStack:
    project: str
    directory: Path  # the repository's files, as a user's checkout with its .env
    images: dict[str, str]  # DASHHUB_IMAGE, PYTHON_IMAGE, NGINX_IMAGE, …
    port: int  # nginx's, published on 127.0.0.1
    admin_password: str
    command: list[str] = field(default_factory=compose_command)
    memo: dict = field(default_factory=dict)  # what a test leaves for a later one
    timeline: dict[str, float] = field(default_factory=dict)  # container: seconds until ready
    ready_names: set[str] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        passed = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
        return {**passed, **self.images, "COMPOSE_PROJECT_NAME": self.project}

    def compose(self, *args: str, timeout: float = 300, check: bool = True, **kwargs):
        command = [*self.command, "--compatibility", "-p", self.project, *args]
        result = subprocess.run(command, cwd=self.directory, env=self.env, capture_output=True, text=True,
                                timeout=timeout, **kwargs)  # fmt: skip
        if check and result.returncode != 0:
            self.fail(f"`{' '.join(command[len(self.command) :])}` exited {result.returncode}:\n"
                      f"{result.stdout[-2000:]}{result.stderr[-3000:]}")  # fmt: skip
        return result

    def start_compose(self, *args: str, log: Path) -> subprocess.Popen:
        command = [*self.command, "--compatibility", "-p", self.project, *args]
        with log.open("w") as out:
            return subprocess.Popen(command, cwd=self.directory, env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT)  # fmt: skip

    # -- containers --------------------------------------------------------------------------------

    def containers(self, service: str | None = None) -> list[dict]:
        """docker inspect of the project's containers (stopped ones too), one-off ones left out."""
        filters = ["--filter", f"label={PROJECT_LABEL}={self.project}"]
        if service:
            filters += ["--filter", f"label={SERVICE_LABEL}={service}"]
        ids = docker("ps", "-aq", *filters).stdout.split()
        if not ids:
            return []
        found = json.loads(docker("inspect", *ids).stdout)
        return [
            c for c in found if c["Config"]["Labels"].get("com.docker.compose.oneoff", "False") == "False"
        ]

    def container(self, service: str) -> dict:
        found = self.containers(service)
        if len(found) != 1:
            self.fail(f"expected one {service} container, found {len(found)}")
        return found[0]

    def describe(self) -> str:
        """One line per container: service, name, state, health and its last check's output."""
        lines = []
        for c in sorted(self.containers(), key=lambda c: c["Name"]):
            state = c["State"]
            line = f"  {c['Config']['Labels'][SERVICE_LABEL]:9} {c['Name'].lstrip('/')}: {state['Status']}"
            if state["Status"] == "exited":
                line += f" (exit {state['ExitCode']})"
            if c.get("RestartCount"):
                line += f", restarted {c['RestartCount']} times"
            health = state.get("Health")
            if health and state["Running"]:
                line += f", health {health['Status']}"
                if health["Status"] != "healthy" and health.get("Log"):
                    last = health["Log"][-1]
                    line += f" (last check exit {last['ExitCode']}: {last['Output'].strip()[-300:]!r})"
            lines.append(line)
        return "\n".join(lines) or "  (no container)"

    def logs(self, tail: int = 60) -> str:
        return self.compose("logs", "--no-color", "--tail", str(tail), check=False, timeout=120).stdout

    def fail(self, message: str) -> NoReturn:
        try:
            evidence = f"\n\ncontainers:\n{self.describe()}\n\ncompose logs (last lines):\n{self.logs()}"
        except Exception as exc:  # the message matters more than the evidence
            evidence = f"\n\n(could not collect the containers' state: {exc})"
        raise ComposeError(message + evidence)

    def exec(self, service: str, *command: str, input: str | None = None, user: str | None = None) -> str:
        """A command in the (first running) container of service; its output."""
        running = [c for c in self.containers(service) if c["State"]["Running"]]
        if not running:
            self.fail(f"no running {service} container to run {command[0]} in")
        args = ["exec", "-i", *(["-u", user] if user else []), running[0]["Id"], *command]
        result = docker(*args, check=False, input=input)
        if result.returncode != 0:
            self.fail(f"{' '.join(command)} in {service} exited {result.returncode}:\n"
                      f"{result.stdout[-1000:]}{result.stderr[-2000:]}")  # fmt: skip
        return result.stdout

    def psql(self, sql: str) -> str:
        """One value computed by PostgreSQL itself (independent of the app)."""
        return self.exec("postgres", "psql", "-U", "dashhub", "-d", "dashhub", "-tAc", sql).strip()

    # -- waiting -----------------------------------------------------------------------------------

    def problems(self) -> tuple[list[str], list[str]]:
        """(what is wrong for good, what is not ready yet) with every container as compose says."""
        broken, waiting = [], []
        containers = self.containers()
        self.ready_names = set()
        for service, count in EXPECTED.items():
            mine = [c for c in containers if c["Config"]["Labels"][SERVICE_LABEL] == service]
            if len(mine) < count:
                waiting.append(f"{service}: {len(mine)} of {count} containers")
            for c in mine:
                state, name = c["State"], c["Name"].lstrip("/")
                health = (state.get("Health") or {}).get("Status")
                if service == "init":
                    if state["Status"] == "exited" and state["ExitCode"] != 0:
                        broken.append(f"{name} (dashhub init) exited {state['ExitCode']}")
                    elif state["Status"] != "exited":
                        waiting.append(f"{name} still running")
                    else:
                        self.ready_names.add(name)
                    continue
                if c.get("RestartCount", 0) >= 2 or (state["Status"] == "exited" and state["ExitCode"] != 0):
                    broken.append(f"{name} keeps stopping ({state['Status']}, exit {state['ExitCode']}, "
                                  f"restarted {c.get('RestartCount', 0)} times)")  # fmt: skip
                elif health == "unhealthy":
                    broken.append(f"{name} is unhealthy")
                elif not state["Running"]:
                    waiting.append(f"{name} {state['Status']}")
                elif health not in (None, "healthy"):
                    waiting.append(f"{name} health {health}")
                else:
                    self.ready_names.add(name)
        return broken, waiting

    def wait_until_up(self, up: subprocess.Popen, up_log: Path, seconds: float = 420) -> float:
        """Wait for `up -d` to finish and every service to be as the compose file says (healthy,
        init exited 0), then for /ready through nginx; fail at the first container that is broken
        for good, with the evidence. Returns the seconds it took."""
        started = time.monotonic()
        deadline = started + seconds
        waiting: list[str] = ["up -d running"]
        self.timeline = {}
        while time.monotonic() < deadline:
            broken, waiting = self.problems()
            for name in self.ready_names - set(self.timeline):
                self.timeline[name] = time.monotonic() - started
            if broken:
                up.kill()
                self.fail("the stack did not come up: " + "; ".join(broken) + self._up_output(up_log))
            code = up.poll()
            if code is not None and code != 0:
                self.fail(f"`up -d` exited {code}" + self._up_output(up_log))
            if code is None:
                waiting.append("up -d running")
            if not waiting:
                break
            time.sleep(2)
        else:
            up.kill()
            self.fail(f"the stack was not up after {seconds:.0f} s; waiting for: " + "; ".join(waiting)
                      + self._up_output(up_log))  # fmt: skip
        self.wait_ready(deadline)
        self.timeline["/ready through nginx"] = time.monotonic() - started
        return time.monotonic() - started

    def timeline_text(self) -> str:
        """When each container was ready (healthy, running, init exited 0) during the last wait."""
        order = sorted(self.timeline.items(), key=lambda item: item[1])
        return (
            ", ".join(f"{name.removeprefix(self.project).strip('_-')} {at:.0f}" for name, at in order) + " s"
        )

    def _up_output(self, up_log: Path) -> str:
        return f"\n\n`up -d` said:\n{up_log.read_text()[-3000:]}" if up_log.exists() else ""

    def wait_ready(self, deadline: float) -> dict:
        """/ready through nginx: every dependency ok (retried: a worker's ping is cached 5 s)."""
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/ready", timeout=5) as response:
                    body = json.loads(response.read())
                    if response.status == 200 and set(body["checks"].values()) == {"ok"}:
                        return body
                    last = f"{response.status} {body}"
            except urllib.error.HTTPError as exc:
                last = f"{exc.code}: {exc.read()[:300]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(1)
        self.fail(f"{self.base}/ready through nginx never answered 200 with every check ok: {last}")

    def wait_healthy(self, container_id: str, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            state = json.loads(docker("inspect", container_id).stdout)[0]["State"]
            status = (state.get("Health") or {}).get("Status")
            if status == "healthy":
                return
            if status == "unhealthy" or state["Status"] == "exited":
                break
            time.sleep(1)
        self.fail(f"container {container_id[:12]} did not become healthy within {seconds:.0f} s")

    # -- nginx -------------------------------------------------------------------------------------

    def nginx_upstreams(self, since: str) -> list[str]:
        """The upstream address of each request nginx logged since a docker timestamp."""
        nginx = self.container("nginx")
        out = docker("logs", "--since", since, nginx["Id"]).stdout
        found = []
        for line in out.splitlines():
            if line.startswith("{"):
                with_upstream = json.loads(line).get("upstream", "")
                found += [u.strip() for u in with_upstream.split(",") if u.strip()]
        return found

    def app_addresses(self) -> dict[str, str]:
        """Each running app container's address on the compose network: its name."""
        addresses = {}
        for c in self.containers("app"):
            for network in c["NetworkSettings"]["Networks"].values():
                if network.get("IPAddress"):
                    addresses[f"{network['IPAddress']}:8050"] = c["Name"].lstrip("/")
        return addresses
