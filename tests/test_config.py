"""Config: typed parsing, and errors that name file, line, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest
from configs import NEWSLETTER_YAML

from pipeline.config import load_config
from pipeline.errors import ConfigError

MINIMAL = NEWSLETTER_YAML + "  timezone: Europe/London\nissue:\n  stories: 4\n"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_config_is_typed_and_paths_resolve(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.newsletter.name == "The Ledger"
    assert cfg.issue.stories == 4
    assert cfg.newsletter.tz.key == "Europe/London"
    assert cfg.state_path == tmp_path / "state/newsletter.sqlite3"
    assert cfg.outbox_path == tmp_path / "outbox"


def test_shipped_config_loads() -> None:
    cfg = load_config(Path(__file__).parent.parent / "config.yaml")
    assert cfg.sources.feeds, "the shipped config must name bundled feeds"
    for feed in cfg.sources.feeds:
        assert not feed.url.startswith("http"), "shipped sources must work offline"
        assert cfg.path(feed.url).exists(), feed.url


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    p = write(tmp_path, MINIMAL + "  storeis: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert msg == f"{p}:10: key 'issue.storeis': unknown key"


def test_bad_value_names_line_key_and_value(tmp_path: Path) -> None:
    p = write(tmp_path, MINIMAL.replace("Europe/London", "Mars/Olympus"))
    with pytest.raises(ConfigError) as info:
        load_config(p)
    err = info.value
    assert err.line == 7 and err.key == "newsletter.timezone"
    assert "Mars/Olympus" in str(err)


def test_wrong_type_in_list_item(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        MINIMAL + "sources:\n  feeds:\n    - url: a.xml\n    - url: b.xml\n      weight: heavy\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.key == "sources.feeds[1].weight"
    assert info.value.line == 14
    assert "'heavy'" in str(info.value)


def test_missing_required_key(tmp_path: Path) -> None:
    p = write(tmp_path, MINIMAL.replace("  postal_address: 1 Main St, Springfield\n", ""))
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.key == "newsletter.postal_address"
    assert "missing" in str(info.value)


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    p = write(tmp_path, MINIMAL + "issue: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.line is not None and "invalid YAML" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
