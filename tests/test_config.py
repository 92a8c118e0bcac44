"""Config: typed parsing, and errors that name file, line, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from configs import NEWSLETTER_YAML

from pipeline.cli import cli
from pipeline.config import load_config, secret
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


def test_every_problem_is_listed_at_once_in_the_files_order(tmp_path: Path) -> None:
    text = MINIMAL.replace("Europe/London", "Mars/Olympus")
    text = text.replace("  stories: 4\n", "  stories: four\n  storeis: 3\n")
    text += "alerts:\n  command: [notify, 5]\n  url: hooks.example/alert\nroot: elsewhere\n"
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    err = info.value
    assert [(q.line, q.key) for q in err.problems] == [
        (7, "newsletter.timezone"),
        (9, "issue.stories"),
        (10, "issue.storeis"),
        (12, "alerts.command"),
        (13, "alerts.url"),
        (14, "root"),
    ]
    # the first problem is the error's own line, key and detail
    assert (err.line, err.key, err.file) == (7, "newsletter.timezone", str(p))
    lines = str(err).splitlines()
    assert lines[0] == f"{p}: 6 problems"
    assert lines[1].startswith(f"  {p}:7: key 'newsletter.timezone': unknown timezone")
    assert lines[1].endswith("(got 'Mars/Olympus')")
    assert lines[2].startswith(f"  {p}:9: key 'issue.stories': ") and "(got 'four')" in lines[2]
    assert lines[3] == f"  {p}:10: key 'issue.storeis': unknown key"
    assert lines[4] == (
        f"  {p}:12: key 'alerts.command': must be a command line or a list of its arguments,"
        " as strings (got ['notify', 5])"
    )
    assert lines[5].startswith(f"  {p}:13: key 'alerts.url': must be an absolute http(s) URL")
    assert lines[6] == f"  {p}:14: key 'root': unknown key"


def test_the_command_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    text = MINIMAL.replace("  stories: 4\n", "  stories: 0\n  quick_links: many\n")
    p = write(tmp_path, text.replace("https://example.com/signup", "example.com/signup"))
    result = CliRunner().invoke(cli, ["render", "--config", str(p)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"error: {p}: 3 problems",
        f"  {p}:4: key 'newsletter.signup_url': must be an absolute http(s) URL"
        " (got 'example.com/signup')",
        f"  {p}:9: key 'issue.stories': Input should be greater than or equal to 1 (got 0)",
        f"  {p}:10: key 'issue.quick_links': Input should be a valid integer, unable to parse"
        " string as an integer (got 'many')",
    ]


def test_a_secret_comes_from_the_variable_the_config_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_TEST_KEY", "s3cret")
    assert secret("LEDGER_TEST_KEY", key="summarizer.llm.api_key_env", file="c.yaml") == "s3cret"
    monkeypatch.delenv("LEDGER_TEST_KEY")
    with pytest.raises(ConfigError) as info:
        secret("LEDGER_TEST_KEY", key="summarizer.llm.api_key_env", file="c.yaml")
    assert str(info.value) == (
        "c.yaml: environment variable LEDGER_TEST_KEY (named by summarizer.llm.api_key_env)"
        " is not set"
    )
    monkeypatch.setenv("LEDGER_TEST_KEY", "")
    with pytest.raises(
        ConfigError, match=r"LEDGER_TEST_KEY \(named by smtp.password_env\) is empty"
    ):
        secret("LEDGER_TEST_KEY", key="smtp.password_env", file="c.yaml")


def test_a_state_in_postgresql_keeps_the_scheduler_job_store_on_this_machine(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.yaml").write_text(NEWSLETTER_YAML, encoding="utf-8")
    url = "postgresql://news@127.0.0.1:5432/newsletters"
    config = load_config(tmp_path / "config.yaml", key="tech", state=url)
    assert config.state_in_database
    # a file under the config's own folder, never a path made of the URL
    assert config.jobstore_path == tmp_path / "state" / "newsletter.tech.schedule.sqlite3"
    assert not load_config(tmp_path / "config.yaml").state_in_database
