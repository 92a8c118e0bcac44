"""A lost, corrupt or unusable state store, lock or outbox: one clear line each, no build
from a lost store, and automatic backups so recovery is one command.

Real files: a site is built, then its store is truncated, overwritten, damaged or
replaced by a folder, and `newsletter build` runs again through the CLI.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from _schedule_helpers import add_feed_item, make_site
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.config import Config
from pipeline.lock import lock_path
from pipeline.store import KEEP_BACKUPS, backups_of


def newsletter(config: Config, *args: str) -> Result:
    day = datetime.now(config.newsletter.tz).date().isoformat()
    cfg = str(Path(config.root) / "config.yaml")
    extra = ["--date", day] if args[0] == "build" else []
    return CliRunner().invoke(cli, [*args, "--config", cfg, *extra])


def built(tmp_path: Path) -> Config:
    config = make_site(tmp_path)
    assert newsletter(config, "build").exit_code == 0
    return config


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output  # (a build's progress lines may come before it)
    return errors[0]


@pytest.mark.slow
def test_builds_keep_backups_and_a_truncated_store_is_refused_then_restored(
    tmp_path: Path,
) -> None:
    config = built(tmp_path)
    store = config.state_path
    for _ in range(KEEP_BACKUPS + 2):
        assert newsletter(config, "build").exit_code == 0
    assert len(backups_of(store)) == KEEP_BACKUPS  # the newest seven
    store.write_bytes(b"")  # lost: the next build would repeat every story
    line = one_line_error(newsletter(config, "build"))
    assert f"state store {store} is empty (0 bytes)" in line
    assert "`newsletter restore-store`" in line
    restored = newsletter(config, "restore-store")
    assert restored.exit_code == 0, restored.output
    assert f"restored {store} from {backups_of(store)[0]}" in restored.output
    assert f"kept as {store}.broken-" in restored.output
    again = newsletter(config, "build")
    assert again.exit_code == 0 and "unchanged" in again.output  # nothing repeated


def test_a_missing_store_with_backups_is_refused(tmp_path: Path) -> None:
    config = built(tmp_path)
    config.state_path.unlink()
    line = one_line_error(newsletter(config, "build"))
    assert f"state store {config.state_path} is missing but its backups are in" in line


def test_a_store_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    config = built(tmp_path)
    config.state_path.write_bytes(b"this is not a database\n" * 100)
    line = one_line_error(newsletter(config, "ingest"))
    assert f"state store {config.state_path} is not an SQLite database" in line


def test_a_damaged_store_fails_its_integrity_check(tmp_path: Path) -> None:
    config = built(tmp_path)
    store = config.state_path
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(store.read_bytes())
    page = 4096
    for n in range(2 * page, len(data) - page, page):  # scribble over the b-trees
        data[n + 100 : n + 300] = b"\xff" * 200  # a full page's cells
        data[n + page - 200 : n + page] = b"\xff" * 200  # where a page's first cells go
    store.write_bytes(bytes(data))
    kept = backups_of(store)
    line = one_line_error(newsletter(config, "build"))
    assert f"state store {store}" in line and "restore-store" in line
    assert "integrity check" in line or "corrupt" in line
    assert backups_of(store) == kept  # a damaged store is never kept as a backup


def test_a_store_or_lock_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    config = built(tmp_path)
    lock = lock_path(config)
    lock.unlink()
    lock.mkdir()
    line = one_line_error(newsletter(config, "build"))
    assert f"cannot open the lock file {lock}: Is a directory" in line
    lock.rmdir()
    store = config.state_path
    store.rename(tmp_path / "kept.sqlite3")
    store.mkdir()
    line = one_line_error(newsletter(config, "ingest"))
    assert f"state store {store} is a directory, not a file" in line


def test_an_unwritable_store_is_one_line(tmp_path: Path) -> None:
    # as root, permissions do not stop a write; a folder where SQLite must put its
    # write-ahead log does
    config = built(tmp_path)
    Path(f"{config.state_path}-wal").unlink(missing_ok=True)
    Path(f"{config.state_path}-wal").mkdir()
    line = one_line_error(newsletter(config, "build"))
    assert f"state store {config.state_path}: cannot write" in line


def test_an_unwritable_outbox_is_one_line(tmp_path: Path) -> None:
    config = built(tmp_path)
    day = datetime.now(config.newsletter.tz).date().isoformat()
    html = config.outbox_path / day / "issue.html"
    html.unlink()
    html.mkdir()  # as root, the one way to make a file there unwritable
    line = one_line_error(newsletter(config, "build"))
    assert f"cannot write {html}: a directory is in the way" in line


def test_a_store_that_reads_well_but_fails_its_check_gets_no_draft_and_no_backup(
    tmp_path: Path,
) -> None:
    # an index that no longer matches its table: every query still answers, only the
    # integrity check (run beside the build) sees it; the build waits for it to write
    config = built(tmp_path)
    store = config.state_path
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA writable_schema=ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = 'CREATE INDEX items_guid_all ON items(title)'"
        " WHERE name = 'items_guid_all'"
    )
    conn.commit()
    conn.close()
    # news to build from, so a build that went on would write a new draft
    add_feed_item(
        config,
        "<item><title>Harbor Street Bank opens a tenth branch</title>"
        "<link>https://hsj.example/tenth</link><guid>hsj-tenth</guid>"
        "<description>Harbor Street Bank opened its tenth branch on Monday, the lender"
        " said.</description></item>",
    )
    kept = backups_of(store)
    day = config.outbox_path / datetime.now(config.newsletter.tz).date().isoformat()
    outputs = {p.name: p.read_bytes() for p in day.iterdir() if p.is_file()}
    line = one_line_error(newsletter(config, "build", "--regenerate"))
    assert f"state store {store} fails its integrity check" in line and "restore-store" in line
    assert backups_of(store) == kept
    assert {p.name: p.read_bytes() for p in day.iterdir() if p.is_file()} == outputs
