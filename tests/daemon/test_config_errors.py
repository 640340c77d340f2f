"""A config file is read to the end and every error in it reported, each as file, key, reason."""

from __future__ import annotations

import pytest

from patchbayd import config
from patchbayd.config import ConfigError, ConfigErrors

MANY = """
top_level_typo = 1

[daemon]
listen = 8780
log_level = "loud"
max_body = "huge"
lisen = "x:1"

[stores.a]
kind = "push"

[stores.b]
kind = "shopify"
colour = "red"
"""

MANY_KEYS = [
    "daemon.listen",
    "daemon.log_level",
    "daemon.max_body",
    "daemon.lisen",
    "stores.a.ingest_token",
    "stores.b.access_token",
    "stores.b.webhook_secret",
    "stores.b.colour",
    "top_level_typo",
]


def test_every_error_in_the_file_is_reported_in_reading_order() -> None:
    with pytest.raises(ConfigErrors) as caught:
        config.parse(MANY, "bad.toml")
    errors = caught.value.errors
    assert [e.key for e in errors] == MANY_KEYS
    assert {e.file for e in errors} == {"bad.toml"}
    assert str(caught.value).splitlines() == [f"bad.toml: {e.key}: {e.reason}" for e in errors]


def test_the_collected_error_reads_as_its_first_and_names_the_rest() -> None:
    with pytest.raises(ConfigError) as caught:  # still a ConfigError for every caller
        config.parse(MANY, "bad.toml")
    exc = caught.value
    assert (exc.file, exc.key) == ("bad.toml", "daemon.listen")
    assert exc.reason.startswith("expected a string, got int; and 8 more (daemon.log_level, ")
    assert exc.reason.endswith("top_level_typo)")


def test_a_single_error_is_a_plain_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse("[daemon]\nnope = 1\n", "bad.toml")
    assert type(caught.value) is ConfigError
    assert caught.value.errors == [caught.value]
    assert str(caught.value) == "bad.toml: daemon.nope: unknown key"


def test_every_unknown_key_is_named() -> None:
    with pytest.raises(ConfigErrors) as caught:
        config.parse("[daemon]\nzeta = 1\nalpha = 2\n", "bad.toml")
    assert [(e.key, e.reason) for e in caught.value.errors] == [
        ("daemon.alpha", "unknown key"),
        ("daemon.zeta", "unknown key"),
    ]


def test_an_unknown_store_kind_is_one_error_not_one_per_key() -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse('[stores.a]\nkind = "ftp"\ningest_token = "x"\ncolour = 1\n', "bad.toml")
    assert [e.key for e in caught.value.errors] == ["stores.a.kind"]


def test_a_store_that_is_not_a_table_is_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse("[stores]\na = 1\n", "bad.toml")
    assert [(e.key, e.reason) for e in caught.value.errors] == [
        ("stores.a", "expected a table, got int")
    ]


def test_a_bad_store_name_does_not_hide_its_other_errors() -> None:
    with pytest.raises(ConfigErrors) as caught:
        config.parse('[stores."bad name"]\nkind = "push"\n', "bad.toml")
    assert [e.key for e in caught.value.errors] == [
        "stores.bad name.",
        "stores.bad name.ingest_token",
    ]


def test_a_listen_flag_error_names_the_flag_once() -> None:
    cfg = config.parse("")
    with pytest.raises(ConfigError) as caught:
        cfg.with_overrides(listen="bogus")
    assert str(caught.value) == "--listen: expected HOST:PORT or [IPV6]:PORT, got 'bogus'"
