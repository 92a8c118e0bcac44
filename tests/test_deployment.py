"""The deployment file (`newsletters.yaml`): several newsletters read as one, every problem
named with its file, line, key and value, the configs' own problems with their own file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from configs import NEWSLETTER_YAML
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import KEY_PATTERN
from pipeline.deployment import load_deployment
from pipeline.errors import ConfigError


def newsletter(folder: Path, extra: str = "") -> Path:
    """A newsletter's own folder with its config.yaml; returns the config file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(NEWSLETTER_YAML + extra, encoding="utf-8")
    return path


def deployment(root: Path, text: str) -> Path:
    path = root / "newsletters.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_newsletter_keeps_its_config_under_its_key(tmp_path: Path) -> None:
    newsletter(tmp_path / "morning")
    newsletter(tmp_path / "tech", "paths:\n  outbox: out\n")
    path = deployment(tmp_path, "newsletters:\n  morning: morning/config.yaml\n  tech: tech\n")
    dep = load_deployment(path)
    assert dep.keys == ("morning", "tech")
    morning, tech = dep.newsletters
    assert dep.newsletter("tech") is tech
    # no shared state: each keeps the one its own config names, under its own folder
    assert morning.state_path == tmp_path / "morning/state/newsletter.sqlite3"
    assert tech.state_path == tmp_path / "tech/state/newsletter.sqlite3"
    assert tech.outbox_path == tmp_path / "tech/out"
    assert dep.state == ""


def test_a_shared_state_replaces_every_newsletters_own(tmp_path: Path) -> None:
    newsletter(tmp_path / "a", "paths:\n  state: mine.sqlite3\n")
    newsletter(tmp_path / "b")
    path = deployment(
        tmp_path, "state: state/shared.sqlite3\nnewsletters:\n  a: a/config.yaml\n  b: b\n"
    )
    dep = load_deployment(path)
    # relative to the deployment file, not to each config's folder
    assert {c.state_path for c in dep.newsletters} == {tmp_path / "state/shared.sqlite3"}
    assert [c.key for c in dep.newsletters] == ["a", "b"]
    # one store, but a scheduler's job store each (`newsletter schedule --newsletter a`)
    assert [c.jobstore_path.name for c in dep.newsletters] == [
        "shared.a.schedule.sqlite3",
        "shared.b.schedule.sqlite3",
    ]


def test_a_database_url_is_handed_on_as_it_is(tmp_path: Path) -> None:
    newsletter(tmp_path / "a")
    url = "postgresql://news@127.0.0.1:5432/news"
    dep = load_deployment(deployment(tmp_path, f"state: {url}\nnewsletters:\n  a: a\n"))
    assert dep.newsletters[0].paths.state == url


def test_every_problem_at_once_with_file_line_and_key(tmp_path: Path) -> None:
    newsletter(tmp_path / "good")
    bad = newsletter(tmp_path / "bad", "  timezone: Mars/Olympus\nissue:\n  storeis: 3\n")
    newsletter(tmp_path / "twin", "paths:\n  outbox: ../good/outbox\n")  # good's outbox
    path = deployment(
        tmp_path,
        "colour: blue\n"  # line 1
        "newsletters:\n"
        "  good: good/config.yaml\n"  # line 3
        "  Bad Name: good/config.yaml\n"  # line 4
        "  missing: nowhere/config.yaml\n"  # line 5
        "  bad: bad/config.yaml\n"  # line 6
        "  twin: twin/config.yaml\n",  # line 7
    )
    with pytest.raises(ConfigError) as info:
        load_deployment(path)
    err = info.value
    assert err.file == str(path)
    # the shape is checked first: an unknown key stops before the configs are read
    assert (err.line, err.key, err.detail) == (1, "colour", "unknown key")

    path.write_text(path.read_text(encoding="utf-8").replace("colour: blue\n", "\n"))
    with pytest.raises(ConfigError) as info:
        load_deployment(path)
    err = info.value
    lines = str(err).splitlines()
    assert lines[0] == f"{path}: 5 problems"
    assert lines[1].startswith(f"  {path}:4: key 'newsletters.Bad Name': a newsletter's key is")
    assert "(got 'Bad Name')" in lines[1]
    missing = tmp_path / "nowhere" / "config.yaml"
    assert lines[2] == f"  {path}:5: key 'newsletters.missing': {missing}: file not found"
    # the config's own problems: its file, its line, its key
    assert lines[3].startswith(
        f"  {path}:6: key 'newsletters.bad': {bad}:7: key 'newsletter.timezone': unknown timezone"
    )
    assert (
        lines[4] == f"  {path}:6: key 'newsletters.bad': {bad}:9: key 'issue.storeis': unknown key"
    )
    outbox = (tmp_path / "good" / "outbox").resolve()
    assert lines[5] == (
        f"  {path}:7: key 'newsletters.twin': its outbox {outbox} is newsletter 'good''s outbox"
        " too; give each newsletter its own (paths.outbox)"
    )
    assert [p.line for p in err.problems] == [4, 5, 6, 6, 7]


@pytest.mark.parametrize(
    ("text", "line", "key", "detail"),
    [
        ("state: x\n", 1, "newsletters", "required key is missing"),
        ("newsletters: {}\n", 1, "newsletters", "name at least one newsletter"),
        ("newsletters:\n  a: 3\n", 2, "newsletters.a", "Input should be a valid string (got 3)"),
        ("newsletters: [a, b]\n", 1, "newsletters", "Input should be a valid dictionary (got"),
        ("state: [x]\nnewsletters:\n  a: a\n", 1, "state", "Input should be a valid string"),
    ],
)
def test_the_files_shape(tmp_path: Path, text: str, line: int, key: str, detail: str) -> None:
    newsletter(tmp_path / "a")
    with pytest.raises(ConfigError) as info:
        load_deployment(deployment(tmp_path, text))
    err = info.value
    assert (err.line, err.key) == (line, key)
    assert err.detail.startswith(detail), err.detail


def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    newsletter(tmp_path / "a")
    path = deployment(tmp_path, "newsletters:\n  a: a\n  b: a\n  a: a\n")
    with pytest.raises(ConfigError) as info:
        load_deployment(path)
    assert info.value.line == 4
    assert "duplicate key 'a' (first given on line 2)" in str(info.value)


def test_an_unknown_newsletter_names_the_ones_there_are(tmp_path: Path) -> None:
    newsletter(tmp_path / "a")
    newsletter(tmp_path / "b", "paths:\n  outbox: other\n")
    path = deployment(tmp_path, "newsletters:\n  a: a\n  b: b\n")
    with pytest.raises(ConfigError) as info:
        load_deployment(path).newsletter("c")
    assert str(info.value) == f"{path}: no newsletter 'c' here (it lists: a, b)"
    assert info.value.exit_code == 2


def test_a_missing_deployment_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_deployment(tmp_path / "newsletters.yaml")
    assert str(info.value) == f"{tmp_path / 'newsletters.yaml'}: file not found"


KEYS = st.one_of(
    st.from_regex(KEY_PATTERN, fullmatch=True),
    st.text(alphabet="abcXYZ09_- .é", min_size=1, max_size=8),
)


@pytest.mark.slow  # a hundred deployments read whole
@settings(database=None, deadline=None, max_examples=60)
@given(keys=st.lists(KEYS, min_size=1, max_size=5, unique=True))
def test_keys_are_kept_in_order_or_each_bad_one_is_named(
    tmp_path_factory: pytest.TempPathFactory, keys: list[str]
) -> None:
    root = tmp_path_factory.mktemp("dep")
    entries = []
    for n, key in enumerate(keys):
        newsletter(root / f"n{n}", f"paths:\n  outbox: out{n}\n")
        entries.append(f"  {json.dumps(key)}: n{n}\n")
    path = deployment(root, "newsletters:\n" + "".join(entries))
    bad = [k for k in keys if not re.fullmatch(KEY_PATTERN, k)]
    if not bad:
        assert load_deployment(path).keys == tuple(keys)
        return
    with pytest.raises(ConfigError) as info:
        load_deployment(path)
    assert [p.key for p in info.value.problems] == [f"newsletters.{k}" for k in bad]
    # each problem is on its own entry's line (line 1 is `newsletters:`)
    assert [p.line for p in info.value.problems] == [keys.index(k) + 2 for k in bad]
