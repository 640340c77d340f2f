from __future__ import annotations

from pathlib import Path

import pytest

from patchbayd import config
from patchbayd.config import ConfigError, PushStore, ShopifyStore

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_parses_with_the_documented_stores() -> None:
    cfg = config.load(ROOT / "config.example.toml")
    demo, sandbox = cfg.stores["demo"], cfg.stores["sandbox"]
    assert isinstance(demo, PushStore) and demo.ingest_token.reveal() == "demo-token"
    assert isinstance(sandbox, ShopifyStore)
    assert sandbox.base_url == "http://127.0.0.1:8790/shopify/patchbay-demo"
    assert str(cfg.listen) == "127.0.0.1:8780"


BAD = [
    # (toml, key in the error, words of the reason)
    ("[daemon]\nlisten = 8780\n", "daemon.listen", "expected a string"),
    ('[daemon]\nlisten = "localhost"\n', "daemon.listen", "HOST:PORT"),
    ('[daemon]\nlisten = "127.0.0.1:99999"\n', "daemon.listen", "out of range"),
    ('[daemon]\nlog_level = "loud"\n', "daemon.log_level", "must be one of"),
    ('[daemon]\nlisen = "x:1"\n', "daemon.lisen", "unknown key"),
    ("[deamon]\n", "deamon", "unknown key"),
    ("daemon = 3\n", "daemon", "expected a table"),
    ('[stores.a]\nkind = "push"\n', "stores.a.ingest_token", "required"),
    ('[stores.a]\nkind = "ftp"\ningest_token = "x"\n', "stores.a.kind", "must be one of"),
    ('[stores.a]\ningest_token = "x"\n', "stores.a.kind", "must be one of"),
    (
        '[stores.a]\nkind = "push"\ningest_token = "x"\ncolour = 1\n',
        "stores.a.colour",
        "unknown key",
    ),
    (
        '[stores.a]\nkind = "push"\ningest_token = "x"\ningest_token_env = "Y"\n',
        "stores.a.ingest_token",
        "only one of",
    ),
    (
        '[stores.a]\nkind = "push"\ningest_token_env = "PB_TEST_SURELY_UNSET"\n',
        "stores.a.ingest_token_env",
        "is not set",
    ),
    (
        '[stores.a]\nkind = "push"\ningest_token_file = "/nonexistent/token"\n',
        "stores.a.ingest_token_file",
        "cannot read",
    ),
    ('[stores.a]\nkind = "shopify"\naccess_token = "t"\n', "stores.a.webhook_secret", "required"),
    ('[stores."bad name"]\nkind = "push"\ningest_token = "x"\n', "stores.bad name.", "letters"),
    ('[daemon\nlisten = "x"\n', "line 1", ""),
    ('[daemon]\nlisten = "127.0.0.1:1"\nlisten = "127.0.0.1:2"\n', "line 3", ""),
]


@pytest.mark.parametrize(("text", "key", "reason"), BAD)
def test_bad_config_names_file_key_and_reason(text: str, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse(text, "bad.toml")
    assert caught.value.file == "bad.toml"
    assert caught.value.key == key
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"bad.toml: {key}: ")


def test_secret_from_file_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tok").write_text("from-file\n")
    monkeypatch.setenv("PB_SECRET", "from-env")
    cfg = config.parse(
        f'[stores.f]\nkind = "push"\ningest_token_file = "{tmp_path / "tok"}"\n'
        '[stores.e]\nkind = "push"\ningest_token_env = "PB_SECRET"\n'
    )
    assert cfg.stores["f"].ingest_token.reveal() == "from-file"  # type: ignore[union-attr]
    assert cfg.stores["e"].ingest_token.reveal() == "from-env"  # type: ignore[union-attr]


def test_secret_from_systemd_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shop-token").write_text("cred")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    cfg = config.parse(
        '[stores.s]\nkind = "shopify"\naccess_token_credential = "shop-token"\n'
        'webhook_secret = "w"\n'
    )
    store = cfg.stores["s"]
    assert isinstance(store, ShopifyStore)
    assert store.access_token.reveal() == "cred"
    assert store.base_url == "https://s.myshopify.com"


def test_secrets_never_show_in_repr() -> None:
    cfg = config.parse('[stores.a]\nkind = "push"\ningest_token = "hunter2-secret"\n')
    assert "hunter2" not in repr(cfg)
    assert "hunter2" not in f"{cfg.stores['a']}"


def test_overrides_win_over_the_file() -> None:
    cfg = config.parse('[daemon]\nstate_dir = "/a"\nsocket = "/b.sock"\nlisten = "127.0.0.1:1"\n')
    changed = cfg.with_overrides(state_dir="/x", socket="/y.sock", listen="[::1]:0")
    assert (str(changed.state_dir), str(changed.socket)) == ("/x", "/y.sock")
    assert (changed.listen.host, changed.listen.port) == ("::1", 0)
    assert str(changed.listen) == "[::1]:0"
    with pytest.raises(ConfigError, match="--listen"):
        cfg.with_overrides(listen="nope")


def test_defaults_follow_systemd_and_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/patchbay")
    monkeypatch.setenv("RUNTIME_DIRECTORY", "/run/patchbay")
    cfg = config.parse("")
    assert str(cfg.state_dir) == "/var/lib/patchbay"
    assert str(cfg.socket) == "/run/patchbay/patchbay.sock"
    monkeypatch.delenv("RUNTIME_DIRECTORY")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert str(config.parse("").socket) == "/run/user/1000/patchbay/patchbay.sock"
