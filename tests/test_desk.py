"""Desk: per-story actions go through the draft file, keep every edit, and re-render."""

from __future__ import annotations

import os
import subprocess

import pytest
from newsletter_cli import CLI
from preview_site import EDITION, draft_path

from pipeline.build import build_issue
from pipeline.config import Config
from pipeline.desk import approve, drop_story, move_story, regenerate_story
from pipeline.draft import draft_sha, parse_draft
from pipeline.edition import Edition, issue_dir
from pipeline.errors import DraftError

Q, H, B = "g1000000000000001", "g1000000000000002", "g1000000000000003"


def ids(config: Config) -> list[str]:
    return [s.id for s in parse_draft(draft_path(config).read_text(encoding="utf-8")).stories]


def html(config: Config) -> str:
    return (issue_dir(config, EDITION) / "issue.html").read_text(encoding="utf-8")


def test_drop_removes_the_story_from_draft_and_email_and_keeps_a_backup(site: Config) -> None:
    before = draft_path(site).read_text(encoding="utf-8")
    assert "Halvorsen" in html(site)
    result = drop_story(site, EDITION, H)
    assert ids(site) == [Q, B]
    assert "Halvorsen" not in html(site)
    assert "Halvorsen" not in (issue_dir(site, EDITION) / "issue.txt").read_text(encoding="utf-8")
    assert result.backup == "backups/draft-1.md"
    assert (issue_dir(site, EDITION) / result.backup).read_text(encoding="utf-8") == before


def test_move_keeps_every_byte_the_editor_typed(site: Config) -> None:
    path = draft_path(site)
    edited = path.read_text(encoding="utf-8").replace(
        "Two grocers walk into a merger", "Two grocers (an editor note stays) walk into a merger"
    )
    path.write_text(edited, encoding="utf-8")
    move_story(site, EDITION, H, -1)
    assert ids(site) == [H, Q, B]
    move_story(site, EDITION, H, +1)
    assert path.read_text(encoding="utf-8") == edited
    assert "an editor note stays" in html(site)


def test_a_moved_story_takes_its_nut_graf_section_and_context_along(site: Config) -> None:
    before = {s.id: s for s in parse_draft(draft_path(site).read_text(encoding="utf-8")).stories}
    move_story(site, EDITION, B, -2)
    after = parse_draft(draft_path(site).read_text(encoding="utf-8")).stories
    assert [s.id for s in after] == [B, Q, H]
    assert {s.id: s for s in after} == before, "every part stays with its story"
    email = html(site)
    order = [before[B].nut_graf[:40], "The Cloud Cupboard", before[B].context[:40]]
    order += [before[Q].nut_graf[:40], "The Supply Squeeze", before[Q].context[:40]]
    positions = [email.find(p) for p in order]
    assert -1 not in positions and positions == sorted(positions)


def test_dropping_a_story_drops_its_nut_graf_and_context(site: Config) -> None:
    story = parse_draft(draft_path(site).read_text(encoding="utf-8")).stories[1]
    assert story.context[:40] in html(site)
    drop_story(site, EDITION, H)
    for part in (story.nut_graf[:40], story.context[:40], story.section):
        assert part not in html(site)
        assert part not in draft_path(site).read_text(encoding="utf-8")


FALLBACK_NOTE = "> **Fallback:**"


def test_a_pristine_fallback_story_regenerates_in_place(site: Config) -> None:
    Edition(site, EDITION).remember_generated()
    assert parse_draft(draft_path(site).read_text(encoding="utf-8")).stories[2].fallback
    result = regenerate_story(site, EDITION, B)
    assert not result.conflict
    after = parse_draft(draft_path(site).read_text(encoding="utf-8")).stories
    assert [s.id for s in after] == [Q, H, B]
    # the offline engine wrote it on request: no LLM story was rejected this time
    assert after[2].fallback == "" and after[2].engine == "extractive"
    assert FALLBACK_NOTE not in draft_path(site).read_text(encoding="utf-8")


def test_deleting_a_fallback_note_is_an_edit_the_desk_keeps(site: Config) -> None:
    Edition(site, EDITION).remember_generated()
    path = draft_path(site)
    text = path.read_text(encoding="utf-8")
    note = next(line for line in text.splitlines() if line.startswith(FALLBACK_NOTE))
    path.write_text(text.replace(note + "\n", ""), encoding="utf-8")
    assert parse_draft(path.read_text(encoding="utf-8")).stories[2].fallback == ""
    # the editor took the story on: a regenerate must not overwrite it
    result = regenerate_story(site, EDITION, B)
    assert result.conflict
    assert ids(site) == [Q, H, B, B + "-regenerated"]
    lines = path.read_text(encoding="utf-8").splitlines()
    at = lines.index(f"<!-- story: {B}-regenerated -->")
    # the conflict note sits under the story's comment lines, above its parts
    assert lines[at + 1].startswith("<!-- engine:") and lines[at + 2].startswith("> **Conflict:**")


def test_move_past_the_ends_changes_nothing(site: Config) -> None:
    before = draft_path(site).read_text(encoding="utf-8")
    result = move_story(site, EDITION, Q, -1)
    assert not result.changed and "already first" in result.message
    assert move_story(site, EDITION, B, +5).message.endswith("already last")
    assert draft_path(site).read_text(encoding="utf-8") == before


def test_unknown_story_names_the_file_and_the_known_ids(site: Config) -> None:
    with pytest.raises(DraftError) as err:
        drop_story(site, EDITION, "nope")
    assert "draft.md" in str(err.value) and Q in str(err.value)


def test_approve_sets_status_and_freezes_the_issue(site: Config) -> None:
    approve(site, EDITION)
    issue = parse_draft(draft_path(site).read_text(encoding="utf-8"))
    assert issue.status == "approved"
    again = build_issue(site, EDITION, regenerate=True)
    assert again.status == "frozen"
    assert approve(site, EDITION).message == "already approved"


def test_a_stale_page_cannot_act_on_a_changed_draft(site: Config) -> None:
    path = draft_path(site)
    seen = draft_sha(path.read_text(encoding="utf-8"))
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(DraftError, match="changed on disk"):
        drop_story(site, EDITION, H, expect_sha=seen)
    assert ids(site) == [Q, H, B]


def test_regenerate_replaces_a_pristine_story_and_keeps_the_others(site: Config) -> None:
    path = draft_path(site)
    Edition(site, EDITION).remember_generated()  # as the preview does when it first shows the draft
    path.write_text(
        path.read_text(encoding="utf-8").replace("Two grocers walk", "Two grocers stroll"),
        encoding="utf-8",
    )  # an edit elsewhere
    original_q = parse_draft(path.read_text(encoding="utf-8")).stories[0]
    result = regenerate_story(site, EDITION, Q)
    assert not result.conflict and result.backup == "backups/draft-1.md"
    after = parse_draft(path.read_text(encoding="utf-8"))
    assert [s.id for s in after.stories] == [Q, H, B]
    assert "Two grocers stroll" in after.stories[1].hook
    assert result.changed and after.stories[0] != original_q
    assert "**Conflict:**" not in path.read_text(encoding="utf-8")


def test_regenerate_is_side_by_side_when_no_pristine_version_was_seen(site: Config) -> None:
    path = draft_path(site)
    path.write_text(
        path.read_text(encoding="utf-8").replace("Two grocers walk", "Two grocers stroll"),
        encoding="utf-8",
    )
    result = regenerate_story(site, EDITION, Q)
    # nothing tells this story was left as generated: keep it, never overwrite
    assert result.conflict
    assert ids(site) == [Q, Q + "-regenerated", H, B]


def test_regenerate_of_an_edited_story_keeps_both_side_by_side(site: Config) -> None:
    path = draft_path(site)
    mine = "Quillon Is Sold Out Until 2027. Editors Wrote This Line By Hand."
    text = path.read_text(encoding="utf-8")
    old = parse_draft(text).stories[0].headline
    path.write_text(text.replace(old, mine), encoding="utf-8")
    result = regenerate_story(site, EDITION, Q)
    assert result.conflict and "side by side" in result.message
    stories = parse_draft(path.read_text(encoding="utf-8")).stories
    assert [s.id for s in stories] == [Q, Q + "-regenerated", H, B]
    assert stories[0].headline == mine
    assert "**Conflict:**" in path.read_text(encoding="utf-8")
    # the editor keeps the regenerated one by dropping their own: it takes the id back
    drop_story(site, EDITION, Q)
    assert ids(site) == [Q, H, B]
    assert mine not in path.read_text(encoding="utf-8")
    assert "**Conflict:**" not in path.read_text(encoding="utf-8")


def test_regenerate_needs_the_source_item(site: Config) -> None:
    path = draft_path(site)
    text = path.read_text(encoding="utf-8").replace(
        f"<!-- story: {B} -->", "<!-- story: handwritten -->"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DraftError, match="no source item"):
        regenerate_story(site, EDITION, "handwritten")
    assert path.read_text(encoding="utf-8") == text


def test_a_broken_draft_is_refused_with_its_line(site: Config) -> None:
    path = draft_path(site)
    path.write_text(
        path.read_text(encoding="utf-8").replace("status: draft", "status: maybe"), encoding="utf-8"
    )
    with pytest.raises(DraftError) as err:
        move_story(site, EDITION, H, 1)
    assert err.value.line is not None and "status" in str(err.value)


def run(site: Config, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args, "--config", site.file, "--date", EDITION.isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.mark.slow
def test_cli_story_commands_and_approve(site: Config) -> None:
    down = run(site, "story", "down", Q)
    assert down.returncode == 0, down.stderr
    assert "moved story" in down.stdout and ids(site) == [H, Q, B]
    drop = run(site, "story", "drop", B)
    assert drop.returncode == 0 and "backups/draft-1.md" in drop.stdout
    missing = run(site, "story", "drop", "nope")
    assert missing.returncode == 1 and "draft.md" in missing.stderr
    ok = run(site, "approve")
    assert ok.returncode == 0, ok.stderr
    assert parse_draft(draft_path(site).read_text(encoding="utf-8")).status == "approved"
