"""One settings object (careweave.settings), the composition root (careweave.server)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from careweave.api import create_app
from careweave.devtools import free_port, wait_until_healthy
from careweave.errors import InputError
from careweave.server import build_app
from careweave.settings import DEFAULT_DB_URL, Settings

SRC = Path(__file__).resolve().parents[1] / "src" / "careweave"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("CAREWEAVE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults(clean_env: pytest.MonkeyPatch) -> None:
    s = Settings.load()
    assert s.db == DEFAULT_DB_URL == "sqlite:///careweave.db"
    assert s.warehouse is None and s.cookie_secure and s.workers == 1
    assert s.pseudonym_key_bytes() is None


def test_environment_then_flags(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("CAREWEAVE_DB", "sqlite:///env.db")
    clean_env.setenv("CAREWEAVE_WAREHOUSE", str(tmp_path / "w.duckdb"))
    clean_env.setenv("CAREWEAVE_INSECURE_COOKIES", "1")
    clean_env.setenv("CAREWEAVE_WORKERS", "3")
    s = Settings.load()
    assert (s.db, s.warehouse, s.cookie_secure, s.workers) == (
        "sqlite:///env.db",
        tmp_path / "w.duckdb",
        False,
        3,
    )
    # A flag given wins; a flag not given (None) leaves the environment's value.
    s = Settings.load(db="sqlite:///flag.db", workers=None)
    assert s.db == "sqlite:///flag.db" and s.workers == 3


def test_settings_are_frozen(clean_env: pytest.MonkeyPatch) -> None:
    s = Settings.load()
    with pytest.raises(ValidationError):
        s.db = "sqlite:///other.db"  # type: ignore[misc]


def test_bad_values_name_the_variable_or_the_flag(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CAREWEAVE_WORKERS", "many")
    with pytest.raises(InputError, match=r"^CAREWEAVE_WORKERS: .*integer"):
        Settings.load()
    with pytest.raises(InputError, match=r"^--port: .*less than or equal to 65535"):
        Settings.load(workers=1, port=70000)


def test_pseudonym_key_from_value_or_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("CAREWEAVE_PSEUDONYM_KEY", "v" * 32)
    assert Settings.load().pseudonym_key_bytes() == b"v" * 32
    assert "v" * 32 not in repr(Settings.load())  # a secret: never in a repr or a log
    key_file = tmp_path / "key"
    key_file.write_bytes(b"f" * 40 + b"\n")
    clean_env.setenv("CAREWEAVE_PSEUDONYM_KEY_FILE", str(key_file))
    assert Settings.load().pseudonym_key_bytes() == b"f" * 40  # the file wins
    clean_env.setenv("CAREWEAVE_PSEUDONYM_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(InputError, match=r"CAREWEAVE_PSEUDONYM_KEY_FILE .*cannot read"):
        Settings.load().pseudonym_key_bytes()
    clean_env.delenv("CAREWEAVE_PSEUDONYM_KEY_FILE")
    clean_env.setenv("CAREWEAVE_PSEUDONYM_KEY", "short")
    with pytest.raises(InputError, match=r"CAREWEAVE_PSEUDONYM_KEY: .*at least 32 bytes"):
        Settings.load().pseudonym_key_bytes()


def test_the_composition_root_adds_the_workbench_the_api_alone_has_none(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    api = create_app(db, pseudonym_key=b"k" * 32)
    with TestClient(api) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/app/sign-in").status_code == 404
    warehouse = tmp_path / "w.duckdb"
    whole = build_app(Settings.load(db=db, warehouse=warehouse, pseudonym_key="k" * 32))
    with TestClient(whole) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/app/sign-in").status_code == 200
    assert whole.state.careweave_warehouse == warehouse
    assert whole.state.careweave.cookie_secure is True
    assert whole.state.careweave.pseudonym_key == b"k" * 32


def test_only_the_settings_module_reads_the_environment() -> None:
    """No configuration path reads or writes os.environ outside careweave.settings."""
    allowed = {SRC / "settings.py"}
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
            names = node.names if isinstance(node, ast.ImportFrom) and node.module == "os" else []
            if any(a.name in ("environ", "getenv", "putenv") for a in names):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


@pytest.mark.slow
def test_serve_with_two_workers_passes_the_flags_not_the_environment(tmp_path: Path) -> None:
    """Each worker builds the app from the pickled settings: the --db flag reaches it."""
    port = free_port()
    store = tmp_path / "two.db"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CAREWEAVE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "careweave.cli.main",
            "serve",
            "--db",
            f"sqlite:///{store}",
            "--port",
            str(port),
            "--workers",
            "2",
            "--insecure-cookies",
        ],
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/app/sign-in").status_code == 200
        assert store.is_file() and not (tmp_path / "careweave.db").exists()
    finally:
        proc.terminate()
        proc.wait(20)


def test_demo_serves_its_own_store_and_warehouse_with_the_environment_s_key(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`careweave demo` hands the server a settings object, not environment variables."""
    from rich.console import Console

    from careweave import server
    from careweave.cli import demo

    clean_env.setenv("CAREWEAVE_PSEUDONYM_KEY", "e" * 32)
    served: list[Settings] = []
    clean_env.setattr(server, "serve", served.append)
    settings = Settings.load()
    own = {"db": "sqlite:///demo.db", "warehouse": tmp_path / "w.duckdb", "port": 8123}
    demo._serve(settings.model_copy(update=own), Console(quiet=True))
    (got,) = served
    assert (got.db, got.warehouse, got.port) == ("sqlite:///demo.db", tmp_path / "w.duckdb", 8123)
    assert got.pseudonym_key_bytes() == b"e" * 32
    assert "CAREWEAVE_WAREHOUSE" not in __import__("os").environ


def test_several_workers_build_from_one_settings_object_with_one_key(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Without a configured key, every worker still gets the same one (same pseudonyms)."""
    import uvicorn.supervisors

    from careweave import server

    built: list[Settings] = []
    serving: list[bool] = []

    def build(settings: Settings, **kw: bool) -> None:
        built.append(settings)
        serving.append(kw.get("serving", False))

    clean_env.setattr(server, "build_app", build)

    class Workers:
        def __init__(self, config: object, sockets: list[object]) -> None:
            self.config = config

        def run(self) -> None:  # what each of two worker processes does first
            for _ in range(2):
                self.config.app()  # type: ignore[attr-defined]

    clean_env.setattr(uvicorn.supervisors, "Multiprocess", Workers)
    server.serve(Settings.load(workers=2, port=free_port()))
    assert len(built) == 3  # the parent (migrations), then each worker
    assert serving == [False, True, True]  # only the workers warm up and freeze their heap
    keys = {s.pseudonym_key_bytes() for s in built}
    assert len(keys) == 1 and None not in keys
