"""The state store on a real PostgreSQL: the URL in the config, errors that name it, the
build lock and the at-most-once send in the database, across real processes."""

from __future__ import annotations

import email
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from _schedule_helpers import FIXTURES, copy_shipped_site, make_config
from click.testing import CliRunner
from test_store import make

from pipeline._sql import Db, connect_pg
from pipeline.build import build_issue
from pipeline.cli import cli
from pipeline.config import Config, load_config
from pipeline.errors import ConfigError, LockedError, StoreError
from pipeline.lock import advisory, build_lock
from pipeline.models import Item
from pipeline.store import MIGRATIONS, open_location, open_state

EDITION = date(2026, 11, 28)


def _config(folder: Path, state: str, key: str = "default") -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    make_config(folder, {"paths": {"state": state}})
    return load_config(folder / "config.yaml", key=key)


def _item(n: int, origin: str) -> Item:
    return replace(make(f"Story {n}", f"https://wire.example/{origin}/{n}"), origin=origin)


# -- the URL ------------------------------------------------------------------------------
def test_a_password_in_the_url_is_refused_and_never_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _config(tmp_path, "postgresql://news:hunter2@db.example:5432/news")
    message = str(info.value)
    assert "PGPASSWORD" in message and "paths.state" in message
    assert "hunter2" not in message
    with pytest.raises(ConfigError, match="postgresql://user@host:port/dbname"):
        _config(tmp_path, "postgresql://news@db.example:5432/")


def test_an_unreachable_database_is_one_store_error_naming_the_url(tmp_path: Path) -> None:
    with socket_closed() as port:
        url = f"postgresql://news@127.0.0.1:{port}/news"
        config = _config(tmp_path, url)
        with pytest.raises(StoreError) as info, open_state(config):
            pass
    assert str(info.value).startswith(f"state store {url}: cannot connect:")


def socket_closed() -> _ClosedPort:
    return _ClosedPort()


class _ClosedPort:
    """A loopback port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


def test_check_is_the_connection_and_schema_and_restore_store_refuses(
    tmp_path: Path, pg_url: str
) -> None:
    config = _config(tmp_path, pg_url)
    with open_state(config, check=True) as store:
        versions = [r[0] for r in store.conn.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert not (tmp_path / "state").exists()  # no file, no backups beside it
    result = CliRunner().invoke(cli, ["restore-store", "--config", str(tmp_path / "config.yaml")])
    assert result.exit_code == StoreError.exit_code
    assert "is PostgreSQL" in result.output and "pg_dump" in result.output


def test_a_failing_statement_is_a_store_error_naming_the_url(pg_url: str) -> None:
    with pytest.raises(StoreError) as info, open_location(pg_url) as store:
        store.conn.execute("SELECT * FROM no_such_table")
    assert str(info.value).startswith(f"state store {pg_url}: ")
    assert "no_such_table" in str(info.value)


def test_a_database_at_migration_1_with_rows_is_migrated(pg_url: str) -> None:
    raw = connect_pg(pg_url)
    db = Db(raw, pg_url)
    MIGRATIONS[0](db, "default")
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    db.execute("INSERT INTO schema_version VALUES (1, 't')")
    db.execute(
        "INSERT INTO items (id, source, origin, title, content_hash, first_seen, updated_at,"
        " used_in) VALUES ('a', 'W', 'o', 'A', 'h', 't', 't', '2026-11-20')"
    )
    db.execute("INSERT INTO issues VALUES ('2026-11-20', 'sha', 'sent', 't')")
    raw.close()
    with open_location(pg_url, key="morning") as store:
        assert store.used_in("a") == "2026-11-20"
        assert store.issue(date(2026, 11, 20)) == ("sha", "sent")
        assert store.count_items() == 1


# -- several newsletters in one database ----------------------------------------------------
def test_newsletters_share_items_never_their_uses(any_state: str) -> None:
    from pipeline.store import Sources

    since = datetime(2026, 11, 26, tzinfo=UTC)
    mine, theirs = _item(1, "a.xml"), _item(2, "b.xml")
    with open_location(any_state, key="morning") as morning:
        morning.upsert_items([mine, theirs])
        morning.commit_draft(EDITION, "sha", [mine.id])
        own = {i.id for i, _ in morning.candidates(EDITION, since, Sources(frozenset({"a.xml"})))}
        later = {i.id for i, _ in morning.candidates(date(2026, 11, 29), since)}
    with open_location(any_state, key="evening") as evening:
        assert evening.count_items() == 2  # shared
        assert evening.issue(EDITION) is None and evening.used_in(mine.id) is None
        evening.commit_draft(EDITION, "sha2", [mine.id])  # used by another: still its to use
        assert evening.used_in(mine.id) == EDITION.isoformat()
    assert own == {mine.id}  # its own sources only; the edition's own reservation counts
    assert later == {theirs.id}  # never twice by the same newsletter


def test_text_with_a_nul_is_stored_on_either_backend(any_state: str) -> None:
    item = replace(make("Nul\x00 title", "https://x.example/n"), text="a\x00b c")
    with open_location(any_state) as store:
        assert store.upsert_items([item]) == (1, 0)
        got = store.get_item(item.id)
    assert got is not None
    if any_state.startswith("postgresql"):  # what PostgreSQL text can hold
        assert (got.title, got.text) == ("Nul title", "ab c")
    else:
        assert (got.title, got.text) == (item.title, item.text)


def test_a_send_is_claimed_once(any_state: str) -> None:
    with open_location(any_state, key="morning") as store:
        first, second = store.claim_send(EDITION), store.claim_send(EDITION)
        forced = store.claim_send(EDITION, force=True)
        store.record_issue(EDITION, status="sent")
        after = store.claim_send(EDITION)
    with open_location(any_state, key="evening") as other:
        theirs = other.claim_send(EDITION)
    assert (first.won, first.before) == (True, "draft")
    assert (second.won, second.before) == (False, "sending")
    assert (forced.won, after.won, after.before) == (True, False, "sent")
    assert theirs.won  # another newsletter's edition of the same date


# -- locks and sends across processes --------------------------------------------------------
def _hold(config_path: Path, key: str, seconds: float, *name: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            *(sys.executable, str(FIXTURES / "schedule" / "hold_lock.py")),
            *(str(config_path), str(seconds), key, *name),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.slow
def test_pg_build_lock_names_its_holder_and_goes_with_a_killed_holder(
    tmp_path: Path, pg_url: str
) -> None:
    config = _config(tmp_path, pg_url, key="morning")
    holder = _hold(tmp_path / "config.yaml", "morning", 60)
    try:
        start = time.monotonic()
        with pytest.raises(LockedError) as info, build_lock(config, wait=0.5):
            pytest.fail("the lock was granted while another process held it")
        waited = time.monotonic() - start
        with build_lock(_config(tmp_path / "b", pg_url, key="evening"), wait=0):
            pass  # per newsletter: another one builds meanwhile
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        start = time.monotonic()
        with build_lock(config, wait=10):
            taken = time.monotonic() - start
    finally:
        holder.kill()
        holder.wait()
    message = str(info.value)
    assert f"pid {holder.pid}" in message and "build:morning" in message
    assert "0.5 s" in message and 0.4 < waited < 3
    assert taken < 5  # the server let go of the dead holder's lock


@pytest.mark.slow
def test_a_standby_takes_the_leader_lock_when_the_leader_is_killed(
    tmp_path: Path, any_state: str
) -> None:
    config = _config(tmp_path, any_state)
    leader = _hold(tmp_path / "config.yaml", "default", 60, "leader")
    try:
        with advisory(config, "leader", wait=0.2) as standby:
            assert not standby  # the leader acts; the standby waits its turn
        leader.send_signal(signal.SIGKILL)
        leader.wait()
        start = time.monotonic()
        with advisory(config, "leader", wait=10) as standby:
            taken = time.monotonic() - start
            assert standby
    finally:
        leader.kill()
        leader.wait()
    assert taken < 5  # released with its holder, kill -9 too


def test_two_writers_at_once_never_fail_or_double_an_item(any_state: str) -> None:
    # two connections storing the same items at the same time: one writer at a time
    items = [_item(n, "a.xml") for n in range(300)]
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with open_location(any_state) as store:
                for n in range(0, 300, 50):
                    store.upsert_items(items[n : n + 50])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    with open_location(any_state) as store:
        assert errors == [] and store.count_items() == 300


@pytest.mark.slow
def test_two_processes_racing_to_send_deliver_once(tmp_path: Path, pg_url: str) -> None:
    _config(tmp_path, pg_url)
    out = tmp_path / "deliveries.txt"
    for n in range(5):
        day = date(2026, 11, 1 + n)
        start = time.time() + 1.5
        racers = [
            subprocess.Popen(
                [
                    *(sys.executable, str(FIXTURES / "schedule" / "send_race.py")),
                    *(str(tmp_path / "config.yaml"), day.isoformat(), str(out), str(start)),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        said = sorted((p.communicate(timeout=60)[0] or "").strip() for p in racers)
        assert said == ["refused", "sent"], said
    assert len(out.read_text().splitlines()) == 5  # one delivery per edition
    with psycopg.connect(pg_url) as conn:
        statuses = conn.execute("SELECT DISTINCT status FROM issues").fetchall()
    assert statuses == [("sent",)]


# -- the same edition through either backend -------------------------------------------------
# What may differ, and why: the time the draft was written (``generated_at`` in draft.md,
# hence report.json's ``draft_sha``), the run's timings and its history entry, and the
# email's Date, Message-ID and MIME boundary (all three follow the build's time); nothing a
# reader sees.
def _outbox(folder: Path) -> dict[str, bytes]:
    out = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    out["draft.md"] = re.sub(rb"(?m)^generated_at: .*$", b"", out["draft.md"])
    msg = email.message_from_bytes(out["issue.eml"])
    del msg["Date"], msg["Message-ID"]
    boundary = (msg.get_boundary() or "").encode()
    assert boundary
    out["issue.eml"] = msg.as_bytes().replace(boundary, b"BOUNDARY")
    report = json.loads(out["report.json"])
    for key in ("timings", "history", "draft_sha"):
        report.pop(key)
    out["report.json"] = json.dumps(report, sort_keys=True).encode()
    return out


def test_the_sample_edition_is_the_same_on_sqlite_and_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    day = date(2026, 11, 28)
    site = copy_shipped_site(tmp_path)  # one folder: the inbox's paths are in the report
    built = {}
    for name, state in (("sqlite", None), ("postgresql", pg_url)):
        config = load_config(site / "config.yaml", state=state)
        assert build_issue(config, day).status == "built"
        folder = config.outbox_path / day.isoformat()
        built[name] = _outbox(folder)
        shutil.rmtree(config.outbox_path)
    lite, pg = built["sqlite"], built["postgresql"]
    assert (
        set(lite) == set(pg) == {"draft.md", "issue.html", "issue.txt", "issue.eml", "report.json"}
    )
    for file in sorted(lite):
        assert lite[file] == pg[file], file
    assert b"## " in lite["draft.md"]  # stories, not two empty drafts
