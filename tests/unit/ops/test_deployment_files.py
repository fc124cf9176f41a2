"""Deployment files: compose.yaml is valid Compose (parsed, references resolved), the image runs
as a non-root user with granian after the migrations, the proxy sample has TLS and HSTS.

`docker compose config` is not available on the CI machine (no compose plugin), so the checks it
would make on this file are made here: YAML, known top-level keys, anchors, dependencies, volumes,
networks and `${VAR}` interpolation syntax.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
VALID_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*((:?[-?+]).*)?$", re.S)


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_file_is_valid_and_complete():
    doc = compose()
    assert set(doc) <= {
        "name",
        "services",
        "networks",
        "volumes",
        "configs",
        "secrets",
        "include",
    } | {k for k in doc if k.startswith("x-")}
    services = doc["services"]
    assert {"app", "db", "redis", "mail"} <= set(services)
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".")):
                assert source in doc["volumes"], f"undeclared volume {source}"
        for network in service.get("networks", []):
            assert network in doc["networks"]
    for match in INTERPOLATION.finditer((ROOT / "compose.yaml").read_text()):
        assert VALID_VAR.match(match.group(1)), match.group(0)


def test_compose_app_is_production_and_its_secrets_are_required():
    app = compose()["services"]["app"]
    env = app["environment"]
    assert env["ECP_ENV"] == "production"
    assert env["ECP_PAYMENT_SIMULATOR"] == "0"
    # No default secret: compose refuses to start until .env sets it.
    assert re.fullmatch(r"\$\{ECP_SECRET_KEY:\?.+\}", env["ECP_SECRET_KEY"])
    assert env["ECP_DATABASE_URL"].startswith("postgresql://")
    assert env["ECP_REDIS_URL"].startswith("redis://redis:")
    assert env["ECP_SMTP_HOST"] == "mail"
    assert all(p.startswith("127.0.0.1:") for p in app["ports"]), "only the local proxy"
    text = (ROOT / "compose.yaml").read_text()
    assert "POSTGRES_PASSWORD:?" in text


def test_dockerfile_slim_non_root_granian_migrations_at_start():
    docker = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", docker, re.M)
    users = re.findall(r"^USER (\S+)", docker, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "postgresql-client" in docker  # ecp backup on PostgreSQL
    entry = (ROOT / "deploy" / "docker-entrypoint.sh").read_text()
    assert entry.index("ecp migrate") < entry.index("exec ecp serve")
    cli = (ROOT / "src" / "ecp" / "cli.py").read_text()
    assert "from granian import Granian" in cli
    check = subprocess.run(["sh", "-n", str(ROOT / "deploy" / "docker-entrypoint.sh")])
    assert check.returncode == 0


def test_proxy_sample_has_tls_hsts_and_hides_metrics():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "listen 443 ssl" in conf and "ssl_certificate " in conf
    assert "TLSv1.2 TLSv1.3" in conf
    assert re.search(r'Strict-Transport-Security "max-age=\d{8,}', conf)
    assert "return 301 https://" in conf
    assert "location = /metrics { return 404; }" in conf
    assert "X-Forwarded-For $remote_addr" in conf  # overwritten, never appended


def test_nightly_backup_example_runs_ecp_backup():
    script = (ROOT / "deploy" / "backup" / "ecp-backup.sh").read_text()
    assert "ecp backup" in script
    assert (
        subprocess.run(["sh", "-n", str(ROOT / "deploy" / "backup" / "ecp-backup.sh")]).returncode
        == 0
    )
    cron = (ROOT / "deploy" / "backup" / "ecp-backup.cron").read_text()
    assert re.search(r"^\d+ \d+ \* \* \* root ", cron, re.M)
