"""``floki-core init``: a data directory with config, certificate, database and first admin."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from floki_core import __version__
from floki_core.clock import SystemClock
from floki_core.config import CONFIG_FILE, config_path
from floki_core.domain import SYSTEM, Role
from floki_core.errors import FlokiError
from floki_core.security import passwords, tls
from floki_core.storage import accounts
from floki_core.storage.database import Database, default_url

ADMIN_USER = "admin"
PASSWORD_ENV = "FLOKI_ADMIN_PASSWORD"

CONFIG_TEMPLATE = """\
# Floki appliance configuration. Every key is optional; defaults are shown commented.
# docs/operations.md describes each section.

[site]
name = {site}

[server]
# host = "0.0.0.0"
# port = 8443
# tls = true                 # HTTPS with the certificate in tls/ (made by init)
# tls_cert = "/etc/floki/cert.pem"   # your own certificate and key replace it
# tls_key = "/etc/floki/key.pem"

[database]
{database}

[security]
# lockout_attempts = 5
# lockout_minutes = 15
# session_hours = 12

[discovery]
# enabled = true
# interfaces = []            # IP addresses to announce on; empty = all

[plugins]
# disabled = ["wifi"]

# [federation]               # this site as part of a trust hub: docs/federation.md
# site_id = "north"
# servers = ["tls://hub.trust.example:4222"]
# ca_file = "/etc/floki/hub-ca.pem"
# user = "north"
# password = "given by the hub team"

# [plugin.ble]               # each plugin's settings: docs/plugins.md
"""


@dataclass(frozen=True)
class InitResult:
    data_dir: Path
    admin_password: str | None  # None when taken from the environment
    fingerprint: str
    created: bool


# Written last by init: the data directory is complete. (A data directory made before
# this marker existed is known by its floki.toml.)
INITIALISED_MARK = "initialised"


def is_initialised(data_dir: Path) -> bool:
    return (data_dir / INITIALISED_MARK).exists() or (data_dir / CONFIG_FILE).exists()


def init_data_dir(
    data_dir: Path, site_name: str = "Floki", database_url: str | None = None
) -> InitResult:
    """Create everything a new appliance needs; refuses to touch an existing one."""
    if is_initialised(data_dir):
        found = INITIALISED_MARK if (data_dir / INITIALISED_MARK).exists() else CONFIG_FILE
        raise FlokiError(f"{data_dir} is already initialised (found {found})")
    if not site_name.strip() or len(site_name) > 200:
        raise FlokiError("--site: a site name of 1 to 200 characters is needed")
    env_password = os.environ.get(PASSWORD_ENV)
    if env_password is not None:
        passwords.check_strength(env_password)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    cert, _ = tls.generate_self_signed(data_dir, site_name)
    # The marker is written last (after the config file, unless one is already in place
    # outside the data directory, e.g. the package's /etc/floki/floki.toml), so a failed
    # init can simply be run again.
    db = Database(database_url or default_url(data_dir))
    try:
        db.migrate()
        password = env_password or passwords.generate_password()
        now = SystemClock().now()
        with db.transaction() as session:
            if accounts.count_users(session) == 0:
                accounts.create_user(
                    session,
                    username=ADMIN_USER,
                    role=Role.ADMIN,
                    password=password,
                    display_name="Administrator",
                    actor=SYSTEM,
                    now=now,
                )
            else:  # left by an init that stopped before the end
                accounts.set_password(session, ADMIN_USER, password, actor=SYSTEM, now=now)
    finally:
        db.close()
    # A JSON string is a valid TOML basic string, quotes and apostrophes escaped.
    site = json.dumps(site_name, ensure_ascii=False)
    database = (
        f"url = {json.dumps(database_url)}"
        if database_url
        else '# url = "postgresql://floki@db.example/floki"   # default: SQLite file floki.db here'
    )
    config = config_path(data_dir)
    if config == data_dir / CONFIG_FILE or not config.exists():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(CONFIG_TEMPLATE.format(site=site, database=database), encoding="utf-8")
    (data_dir / INITIALISED_MARK).write_text(
        f"floki-core {__version__} initialised this data directory\n", encoding="utf-8"
    )
    return InitResult(
        data_dir=data_dir,
        admin_password=None if env_password else password,
        fingerprint=tls.fingerprint(cert),
        created=True,
    )
