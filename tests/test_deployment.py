"""docker-compose.yml, the Dockerfile and deploy/haproxy.cfg cannot be run here (no container engine):
this checks that they say what the app reads and what the tested harness (tests/support/cluster.py)
runs: the same servers behind the same balancer configuration, ports that meet, and only variables that
are settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from settings import Settings
from tests.support import cluster

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("app1", "app2")
SETTINGS = {name.upper() for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _environment(compose: dict[str, Any], service: str) -> dict[str, str]:
    environment = compose["services"][service]["environment"]
    return {name: str(value) for name, value in environment.items()}


def _default(value: str) -> str:
    """`${NAME:-default}` as compose resolves it when NAME is unset."""
    return re.sub(r"\$\{[A-Z0-9_]+(?::?-([^}]*))?(?::?\?[^}]*)?\}", lambda m: m.group(1) or "", value)


def test_the_services_of_the_production_path(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"mysql", "redis", "minio", "migrate", "lb", *APP_SERVICES} <= set(services)
    assert services["mysql"]["image"].startswith("mysql:8")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["lb"]["image"].startswith("haproxy:")
    assert services["consul"]["profiles"] == ["consul"]
    assert services["otel-collector"]["profiles"] == ["tracing"]


def test_every_app_variable_is_a_setting(compose: dict[str, Any]) -> None:
    for service in (*APP_SERVICES, "migrate"):
        unknown = set(_environment(compose, service)) - SETTINGS
        assert unknown == set(), f"{service} sets variables the app does not read: {unknown}"


def test_the_apps_reach_the_services_by_their_names_and_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in APP_SERVICES:
        env: dict[str, Any] = {key: _default(value) for key, value in _environment(compose, name).items()}
        settings = Settings(**{key.lower(): value for key, value in env.items() if key != "JWT_SECRET"},
                            jwt_secret="a-secret-of-the-deployment-0123")  # fmt: skip
        database = urlsplit(settings.database_url)
        assert (database.hostname, database.port) == ("mysql", 3306)
        assert database.path == "/" + services["mysql"]["environment"]["MYSQL_DATABASE"]
        assert urlsplit(settings.redis_url).hostname == "redis"
        s3 = urlsplit(settings.s3_endpoint)
        assert s3.hostname == "minio"
        assert f":{s3.port}" in services["minio"]["command"]
        assert settings.s3_access_key == _default(services["minio"]["environment"]["MINIO_ROOT_USER"])
        assert settings.s3_secret_key == _default(services["minio"]["environment"]["MINIO_ROOT_PASSWORD"])
        assert settings.consul_service_address == name
        # Longer than the balancer takes to mark a server down (two checks), within the stop grace.
        lb_interval = float(_environment(compose, "lb")["LB_CHECK_INTERVAL"].removesuffix("s"))
        assert settings.shutdown_drain_seconds > 2 * lb_interval
        grace = float(services[name]["stop_grace_period"].removesuffix("s"))
        assert grace > settings.shutdown_drain_seconds + settings.graceful_shutdown_seconds


def test_the_balancer_config_is_the_harness_config(compose: dict[str, Any]) -> None:
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    lb = compose["services"]["lb"]
    assert lb["volumes"] == ["./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"]
    assert cluster.HAPROXY_CONFIG == ROOT / "deploy" / "haproxy.cfg"
    lb_env = _environment(compose, "lb")
    # Every variable the config reads is given, by compose and by the harness alike.
    used = set(re.findall(r"\$\{([A-Z0-9_]+)\}", config))
    assert used == set(lb_env)
    servers = {name: "127.0.0.1:1" for name in APP_SERVICES}
    assert set(cluster.balancer_variables(servers, "127.0.0.1:2", Path("/tmp/lb.sock"))) == used
    # The same servers as the harness's processes, at the port the apps listen on.
    assert re.findall(r"^\s*server (\S+) ", config, re.MULTILINE) == list(APP_SERVICES)
    for name in APP_SERVICES:
        host, port = lb_env[f"{name.upper()}_ADDR"].split(":")
        assert host == name
        assert port == _environment(compose, name)["PORT"]
    assert "uri /readyz" in config
    published = lb["ports"][0].split(":")
    assert published[-1] == lb_env["LB_BIND"].lstrip(":")


def test_the_image_runs_the_server_unprivileged_with_a_health_check() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim$", dockerfile, re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile
    assert "http://127.0.0.1:8080/healthz" in dockerfile
    assert re.search(r"^EXPOSE 8080$", dockerfile, re.MULTILINE)
    assert 'CMD ["python", "manage.py", "serve"]' in dockerfile
    # Every variable the image sets is a setting, and its port is the one compose's apps use.
    env_block = re.search(r"^ENV (.*?)\n\n", dockerfile, re.MULTILINE | re.DOTALL)
    assert env_block is not None
    names = set(re.findall(r"([A-Z_]+)=", env_block.group(1)))
    assert names - {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR",
                    "PIP_DISABLE_PIP_VERSION_CHECK"} <= SETTINGS  # fmt: skip
    # Every top-level module and package the app imports is copied into the image.
    for module in ("app.py", "settings.py", "settings_sources.py", "manage.py", "alembic.ini"):
        assert module in dockerfile
    for package in ("compat", "schema", "resolvers", "storage", "core", "migrations"):
        assert f"COPY {package} {package}" in dockerfile
