"""The deployment files agree with the code, checked by reading them (no Docker needed).

docker-compose.yml, .env.template, deploy/nginx.conf.template and the Dockerfile name settings,
ports and limits that server/config.py, the CLI and pyproject.toml define; a rename on one side
would otherwise only show on a production server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from server.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
ENV_TEMPLATE = (ROOT / ".env.template").read_text(encoding="utf-8")
NGINX_TEMPLATE = (ROOT / "deploy" / "nginx.conf.template").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
CONFIG_SOURCE = (ROOT / "server" / "config.py").read_text(encoding="utf-8")

# libpq's variables are an alternative to DIEMTUA_DATABASE_URL; compose sets the URL instead.
LIBPQ = {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"}
NGINX_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def settings_read_by_config() -> set[str]:
    """Every environment variable named in a string literal of server/config.py."""
    return set(re.findall(r"[\"']((?:DIEMTUA|S3)_[A-Z0-9_]+|PG[A-Z]+)[\"']", CONFIG_SOURCE))


def template_values() -> dict[str, str]:
    """The uncommented NAME=value lines of .env.template, as `cp .env.template .env` gives."""
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_TEMPLATE, flags=re.MULTILINE))


def required_by_compose() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):?\?", COMPOSE_TEXT))


class MissingVariable(KeyError):
    pass


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise ValueError(f"unclosed ${{ in {text!r}")


def _expand(expression: str, env: Mapping[str, str]) -> str:
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?", expression, re.DOTALL)
    assert match, f"unsupported interpolation ${{{expression}}}"
    name, operator, argument = match.groups()
    value = env.get(name)
    unset = value is None or (value == "" and operator is not None and operator[0] == ":")
    if operator in {"-", ":-"} and unset:
        return interpolate(argument, env)
    if operator in {"?", ":?"} and unset:
        raise MissingVariable(f"{name}: {argument}")
    return value or ""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} (nested), ${NAME:?error}, $NAME and $$."""
    out: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("$$", index):
            out.append("$")
            index += 2
        elif text.startswith("${", index):
            end = _closing_brace(text, index + 2)
            out.append(_expand(text[index + 2 : end], env))
            index = end + 1
        elif bare := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", text[index:]):
            out.append(env.get(bare.group(1), ""))
            index += bare.end()
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def operator_env() -> dict[str, str]:
    """A .env made from the template with every REQUIRED value filled in."""
    env = template_values()
    env.update(
        DOMAIN="diemtua.xa-hoabinh.gov.vn",
        DIEMTUA_PUBLIC_URL="https://diemtua.xa-hoabinh.gov.vn",
        POSTGRES_PASSWORD="pgpassword1",
        S3_SECRET_KEY="s3secret-123",
        MINIO_ROOT_PASSWORD="minio-root-123",
    )
    return env


def service_env(service: str, env: Mapping[str, str]) -> dict[str, str]:
    environment = COMPOSE["services"][service].get("environment", {})
    assert isinstance(environment, dict), "write environment as a mapping"
    return {name: interpolate(str(value), env) for name, value in environment.items()}


def render_nginx(env: Mapping[str, str]) -> str:
    """What the nginx image's envsubst step writes: only the variables that are set change."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))

    return re.sub(r"\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)", substitute, NGINX_TEMPLATE)


def nginx_bytes(size: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", size)
    assert match, f"not an nginx size: {size!r}"
    return int(match.group(1)) * NGINX_UNITS[match.group(2).lower()]


def command_text(service: str) -> str:
    command = COMPOSE["services"][service]["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_config_names_are_found_in_the_source() -> None:
    # Guards the checks below: if config.py stopped naming variables literally, they would pass
    # vacuously.
    assert {"DIEMTUA_DATABASE_URL", "S3_SERVER", "DIEMTUA_MAX_SUBMISSION_BYTES"} <= (
        settings_read_by_config()
    )


def test_every_service_named_in_depends_on_exists() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on missing service {needed}"


def test_the_app_is_given_every_setting_the_server_reads_and_no_other() -> None:
    given = set(COMPOSE["services"]["app"]["environment"])
    read = settings_read_by_config()
    assert given - read == set(), "the app would ignore these"
    assert read - given - LIBPQ == set(), "these settings cannot be set through compose"


def test_env_template_documents_every_setting() -> None:
    for name in sorted(settings_read_by_config()):
        assert re.search(rf"^#?\s*{name}=", ENV_TEMPLATE, re.MULTILINE), name


def test_every_value_compose_requires_is_a_line_of_the_env_template() -> None:
    values = template_values()
    for name in sorted(required_by_compose()):
        assert name in values, f"{name} is required by docker-compose.yml"


def test_the_template_as_copied_makes_compose_stop_until_secrets_are_set() -> None:
    with pytest.raises(MissingVariable):
        service_env("app", template_values())


@pytest.mark.parametrize("limit", ["as in the template", "unset", "50000000"])
def test_nginx_accepts_exactly_the_bodies_the_app_accepts(limit: str, tmp_path: Path) -> None:
    env = operator_env()
    if limit == "unset":
        del env["DIEMTUA_MAX_SUBMISSION_BYTES"]  # compose's own defaults apply
    elif limit.isdigit():
        env["DIEMTUA_MAX_SUBMISSION_BYTES"] = limit
    app_env = service_env("app", env)
    nginx_conf = render_nginx(service_env("nginx", env))

    sizes = re.findall(r"^\s*client_max_body_size\s+(\S+);", nginx_conf, re.MULTILINE)
    assert len(sizes) == 1, nginx_conf
    settings = load_settings({**app_env, "DIEMTUA_DATA_DIR": str(tmp_path)})
    assert nginx_bytes(sizes[0]) == settings.max_submission_bytes
    if limit.isdigit():
        assert settings.max_submission_bytes == int(limit)


def test_the_app_settings_resolve_to_postgresql_and_s3_behind_one_proxy(tmp_path: Path) -> None:
    app_env = service_env("app", operator_env())
    settings = load_settings({**app_env, "DIEMTUA_DATA_DIR": str(tmp_path)})
    assert settings.database_url == (
        "postgresql+psycopg://diemtua:pgpassword1@postgres:5432/diemtua"
    )
    assert settings.storage == "s3"
    assert settings.s3.server == "http://minio:9000"
    assert settings.s3.bucket == service_env("minio-init", operator_env())["S3_BUCKET_NAME"]
    assert settings.proxy_hops == 1
    assert settings.public_url == "https://diemtua.xa-hoabinh.gov.vn"


def test_nginx_forwards_the_headers_the_app_trusts_to_the_port_it_serves_on() -> None:
    for header in ("X-Forwarded-Proto", "X-Forwarded-For", "X-Forwarded-Host"):
        assert re.search(rf"proxy_set_header\s+{header}\s", NGINX_TEMPLATE), header
    serve_port = re.search(r"diemtua serve .*--port (\d+)", command_text("app"))
    upstream = re.search(r"http://app:(\d+)", NGINX_TEMPLATE)
    assert serve_port and upstream
    assert serve_port.group(1) == upstream.group(1)


def test_the_app_migrates_before_serving_and_waits_for_a_healthy_database() -> None:
    app = COMPOSE["services"]["app"]
    assert re.search(
        r"diemtua db upgrade && exec diemtua serve --host 0\.0\.0\.0", command_text("app")
    )
    assert "/healthz" in " ".join(app["healthcheck"]["test"])
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    postgres = COMPOSE["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_files_mounted_from_the_repository_exist() -> None:
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./") and Path(source).suffix:
                assert (ROOT / source).is_file(), f"{name} mounts missing {source}"


def test_the_image_installs_every_package_and_runs_unprivileged() -> None:
    assert re.search(r"^FROM python:3\.11-slim\b", DOCKERFILE, re.MULTILINE)
    assert re.search(r"pip install \.(?: |$)", DOCKERFILE, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for package in packages:
        assert re.search(rf"^COPY {package} ", DOCKERFILE, re.MULTILINE), package
    readme = pyproject["project"]["readme"]
    assert re.search(rf"^COPY .*\b{re.escape(readme)}\b", DOCKERFILE, re.MULTILINE)


def _self_signed(directory: Path, domain: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_itself_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    env = operator_env()
    site = render_nginx(service_env("nginx", env)).replace("/etc/nginx/certs", str(tmp_path))
    _self_signed(tmp_path, env["DOMAIN"])
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    temp_paths = "\n".join(
        f"  {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # The image's own nginx.conf, reduced to what `nginx -t` needs outside the container.
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n{temp_paths}\n"
        f"  access_log off;\n  include {tmp_path}/site.conf;\n}}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            "nginx",
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_compose_has_only_keys_of_the_compose_specification_at_the_top() -> None:
    known = {"name", "services", "volumes", "networks", "secrets", "configs", "include"}
    assert all(key in known or key.startswith("x-") for key in COMPOSE), sorted(COMPOSE)
    named_volumes = set(COMPOSE.get("volumes") or {})
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in named_volumes, f"{name} uses undeclared volume {source}"
