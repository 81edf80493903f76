"""The deployment's nginx template, run natively on loopback ports (tests own the whole config)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

NGINX_MAIN = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    {server}
}}
"""


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if Path(found).exists() else None


def nginx_config(tmp: Path, port: int, upstreams: list[int]) -> Path:
    """The deployment's nginx template, filled in for loopback ports, inside a minimal main file."""
    template = (ROOT / "deploy" / "nginx" / "dashhub.conf.template").read_text()
    server = template.replace("${NGINX_PORT}", f"127.0.0.1:{port}").replace(
        "${DASHHUB_UPSTREAMS}",
        " ".join(f"server 127.0.0.1:{p} max_fails=2 fail_timeout=10s;" for p in upstreams),
    )
    user = "user root;" if os.geteuid() == 0 else ""
    path = tmp / "nginx.conf"
    path.write_text(NGINX_MAIN.format(user=user, tmp=tmp, server=server))
    return path
