"""``floki-core user reset-password`` ends the user's tokens as the API's reset does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from floki_core.cli import main
from floki_core.storage import accounts
from floki_core.storage.database import Database, default_url


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    return code, capsys.readouterr().out


def test_reset_password_on_the_command_line_ends_the_users_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "var"
    monkeypatch.setenv("FLOKI_ADMIN_PASSWORD", "correct-horse-battery-staple")
    assert _run(capsys, "--data-dir", data_dir, "init")[0] == 0
    code, out = _run(capsys, "--data-dir", data_dir, "token", "create", "--user", "admin")
    assert code == 0
    api_token = out.strip().splitlines()[-1]
    code, out = _run(
        capsys, "--data-dir", data_dir, "token", "create", "--user", "admin", "--device"
    )
    device_token = out.strip().splitlines()[-1]

    db = Database(default_url(data_dir))
    try:

        def owner(secret: str) -> str | None:
            with db.sessions() as session:
                who = accounts.resolve_token(session, secret, now=dt.datetime.now(dt.UTC))
            return None if who is None else who.username

        assert owner(api_token) == "admin"
        code, out = _run(capsys, "--data-dir", data_dir, "user", "reset-password", "admin")
        assert code == 0
        assert owner(api_token) is None  # the API token ended with the old password
        assert owner(device_token) == "admin"  # a gateway's credential goes on
    finally:
        db.close()
