"""Tasks: fetch and summarize as Celery tasks on a real Redis, joined per edition.

The ``tasks:`` block and its checks; the JSON codec task messages carry (round trips by
Hypothesis); then, with a real ``redis-server`` on a free 127.0.0.1 port and real worker processes
(``newsletter worker``): the bundled sample's edition built through two workers equals the one
built locally; a worker killed with -9 mid-summarize loses nothing and no story comes twice; a
dead broker stops the build with a clear error and no outbox written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from configs import NEWSLETTER_YAML
from feedserver import FeedServer, feed_route, serve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llmserver import ChatServer, Reply
from llmserver import serve as serve_chat

from pipeline.build import BuildResult, build_issue
from pipeline.cli import cli
from pipeline.codec import decode, encode
from pipeline.config import Config, load_config
from pipeline.draft import parse_draft
from pipeline.errors import ConfigError, TaskError
from pipeline.models import Article, SourceResult, StorySummary, SummaryRun
from pipeline.store import open_store
from pipeline.tasks import ConfigRef, broker_url, celery_app

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "feeds"
FEEDS = (
    ("markets-wire.xml", "Markets Wire", 1.2, "application/rss+xml"),
    ("tech-desk.atom", "Tech Desk", 1.0, "application/atom+xml"),
    ("retail-brief.json", "Retail Brief", 0.9, "application/feed+json"),
)
# served over loopback HTTP (fetch tasks); the middle one stays a file, read by the build itself
SERVED = (FEEDS[0], FEEDS[2])
EDITION = date(2026, 11, 26)

# -- the tasks: block ------------------------------------------------------------------------


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_tasks_default_to_local_and_take_a_redis_broker(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, NEWSLETTER_YAML)).tasks.engine == "local"
    config = load_config(
        _write(
            tmp_path,
            NEWSLETTER_YAML
            + "tasks:\n  engine: celery\n  broker: redis://10.0.0.5:6380/2\n  task_timeout: 90\n",
        )
    )
    assert (config.tasks.engine, config.tasks.broker) == ("celery", "redis://10.0.0.5:6380/2")
    assert config.tasks.task_timeout == 90.0
    assert broker_url(config) == "redis://10.0.0.5:6380/2"


@pytest.mark.parametrize(
    ("line", "key", "says"),
    [
        ("  broker: redis://:hunter2@127.0.0.1:6379/0", "tasks.broker", "broker_password_env"),
        ("  broker: amqp://127.0.0.1:5672//", "tasks.broker", "a Redis URL"),
        ("  engine: dramatiq", "tasks.engine", "'local' or 'celery'"),
        ("  task_timeout: 0", "tasks.task_timeout", "greater than 0"),
    ],
)
def test_a_bad_tasks_value_names_its_line_and_key(
    tmp_path: Path, line: str, key: str, says: str
) -> None:
    path = _write(tmp_path, NEWSLETTER_YAML + "tasks:\n" + line + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (info.value.line, info.value.key) == (8, key)
    assert says in str(info.value) and "hunter2" not in str(info.value).replace(line, "")


def test_the_broker_password_comes_from_the_named_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(
        _write(
            tmp_path,
            NEWSLETTER_YAML + "tasks:\n  broker: redis://q.internal:6379/0\n"
            "  broker_password_env: TEST_BROKER_PASSWORD\n",
        )
    )
    monkeypatch.delenv("TEST_BROKER_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match=r"TEST_BROKER_PASSWORD .*is not set"):
        broker_url(config)
    monkeypatch.setenv("TEST_BROKER_PASSWORD", "p@ss/word")
    assert broker_url(config) == "redis://:p%40ss%2Fword@q.internal:6379/0"
    assert broker_url(config, reveal=False) == "redis://:***@q.internal:6379/0"


def test_a_worker_whose_broker_password_is_unset_says_so_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_BROKER_PASSWORD", raising=False)
    path = _write(
        tmp_path, NEWSLETTER_YAML + "tasks:\n  broker_password_env: TEST_BROKER_PASSWORD\n"
    )
    result = CliRunner().invoke(cli, ["worker", "--config", str(path)])
    assert result.exit_code == 2
    assert "environment variable TEST_BROKER_PASSWORD (named by tasks.broker_password_env)" in (
        result.output
    )


# -- the codec task messages carry ------------------------------------------------------------

_PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _through_json(value: object) -> object:
    return json.loads(json.dumps(encode(value)))


@pytest.mark.slow
@_PROPERTY
@given(
    st.one_of(
        *(
            # NaN is never equal to itself: such a value cannot show a round trip
            st.from_type(cls).filter(lambda v: v == v)
            for cls in (Article, StorySummary, SummaryRun, SourceResult, ConfigRef)
        )
    )
)
def test_every_message_type_survives_json_as_it_was(value: object) -> None:
    assert decode(type(value), _through_json(value)) == value


def test_a_message_of_the_wrong_shape_is_refused_naming_the_field() -> None:
    data = encode(Article(id="a1", title="T", text="x"))
    assert isinstance(data, dict)
    with pytest.raises(ValueError, match=r"Article\.title: expected str"):
        decode(Article, {**data, "title": 3})
    with pytest.raises(ValueError, match=r"unknown fields \['pickle'\]"):
        decode(Article, {**data, "pickle": "x"})
    with pytest.raises(ValueError, match=r"SourceResult\.status: 'maybe' is not one of"):
        decode(SourceResult, {"source": "s", "kind": "feed", "status": "maybe"})


# -- a real Redis, real workers ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _redis_server(folder: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server of its own on a free 127.0.0.1 port, data in ``folder``; yields the
    process and ``redis://127.0.0.1:PORT``."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is missing: install Debian's redis-server package")
    port = _free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    argv += ["--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield proc, f"redis://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def redis_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One redis-server for the module's tests (each test picks its own database number)."""
    with _redis_server(tmp_path_factory.mktemp("redis")) as (_, url):
        yield url


@dataclass(frozen=True)
class Site:
    """A copy of the bundled sample, its feeds served over loopback HTTP."""

    config: Path

    def load(self) -> Config:
        return load_config(self.config)


def _site(folder: Path, feeds: FeedServer, extra: str = "") -> Site:
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "inbox", folder / "inbox")
    shutil.copytree(SAMPLES, folder / "feeds")
    lines = [
        f"    - {{url: {feeds.url('/' + file)}, name: {name}, weight: {weight},"
        " allow_internal: true}"
        if (file, name, weight, ctype) in SERVED
        else f"    - {{url: feeds/{file}, name: {name}, weight: {weight}}}"
        for file, name, weight, ctype in FEEDS
    ]
    text = (
        NEWSLETTER_YAML
        + "  timezone: America/New_York\nsources:\n  feeds:\n"
        + "\n".join(lines)
        + "\n  inbox: inbox\nissue:\n  stories: 4\n  quick_links: 5\n  max_age_hours: 8760\n"
        + "fetch:\n  full_text: false\n"
        + extra
    )
    return Site(_write(folder, text))


def _celery(redis: str, db: int, **more: object) -> str:
    settings = {"task_timeout": 60, "visibility_timeout": 4, **more}
    lines = "".join(f"  {k}: {v}\n" for k, v in settings.items())
    return f"tasks:\n  engine: celery\n  broker: {redis}/{db}\n{lines}"


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    routes = {
        "/" + file: feed_route((SAMPLES / file).read_bytes(), ctype=ctype)
        for file, _, _, ctype in SERVED
    }
    with serve(routes) as server:
        yield server


@contextmanager
def _workers(site: Site, count: int, logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``newsletter worker`` processes (one task at a time each), ready to take
    tasks; each in its own process group, so a test can kill one whole with -9."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(count):
            out = (logs / f"worker{n}.log").open("wb")
            argv = [sys.executable, "-m", "pipeline.cli", "worker", "--config", str(site.config)]
            argv += ["-c", "1", "--log-format", "plain", "--name", f"w{n}-{os.getpid()}@%h"]
            procs.append(
                subprocess.Popen(
                    argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        app = celery_app(site.load())
        deadline = time.monotonic() + 90
        while len(app.control.ping(timeout=0.5)) < count:
            dead = [p for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                text = "\n".join(p.read_text() for p in sorted(logs.glob("worker*.log")))
                pytest.fail(f"workers did not come up:\n{text[-3000:]}")
        app.close()
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _draft(result: BuildResult) -> str:
    text = (result.outbox / "draft.md").read_text(encoding="utf-8")
    # the one line that differs between two builds: when each was made
    return "\n".join(line for line in text.splitlines() if not line.startswith("generated_at:"))


@pytest.mark.slow
@pytest.mark.parametrize("feeds_per_task", [1, 2])
def test_an_edition_built_through_two_workers_equals_the_local_one(
    tmp_path: Path, feeds: FeedServer, redis_base: str, feeds_per_task: int
) -> None:
    local = build_issue(_site(tmp_path / "local", feeds).load(), EDITION)
    tasks = _celery(redis_base, feeds_per_task, feeds_per_task=feeds_per_task)
    site = _site(tmp_path / "celery", feeds, tasks)
    with _workers(site, 2, tmp_path):
        remote = build_issue(site.load(), EDITION)
    assert remote.status == local.status == "built"
    assert _draft(remote) == _draft(local)
    assert len(parse_draft(_draft(remote)).stories) == 4
    # the same sources in the same order (the inbox's files under each site's own folder)
    assert [s.source.replace("/celery/", "/") for s in remote.report.sources] == [
        s.source.replace("/local/", "/") for s in local.report.sources
    ]
    assert remote.report.sources[1].source == "feeds/tech-desk.atom"  # between two fetched
    # the feeds were fetched and the stories written by the workers, not here
    logs = "".join(p.read_text() for p in tmp_path.glob("worker*.log"))
    for file, *_ in SERVED:
        assert f"fetched {feeds.url('/' + file)}: ok" in logs
    assert logs.count("summarized ") == 4
    assert {s.id for s in parse_draft(_draft(remote)).stories} == {
        line.split("summarized ")[1].split()[0]
        for line in logs.splitlines()
        if "summarized " in line
    }


def _building(
    site: Site, chat: ChatServer, asked: int
) -> tuple[threading.Thread, list[BuildResult | BaseException]]:
    """A build of the edition running in a thread (its result or error lands in the list),
    returned once the model has been asked ``asked`` times."""
    outcome: list[BuildResult | BaseException] = []

    def build() -> None:
        try:
            outcome.append(build_issue(site.load(), EDITION))
        except BaseException as exc:
            outcome.append(exc)

    builder = threading.Thread(target=build, daemon=True)  # a hang fails the test, not the run
    builder.start()
    deadline = time.monotonic() + 60
    while len(chat.requests) < asked:
        assert time.monotonic() < deadline, "the workers never asked the model"
        time.sleep(0.02)
    return builder, outcome


def _pool_process(worker: subprocess.Popen[bytes]) -> int:
    """The prefork pool process of a worker run with -c 1: the one running its task."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["worker", "pool process"])
def test_a_worker_killed_mid_summarize_loses_nothing_and_repeats_no_story(
    tmp_path: Path, feeds: FeedServer, redis_base: str, victim: str
) -> None:
    with serve_chat(ChatServer(responder=lambda seen: Reply(content="{}", delay=1.5))) as chat:
        llm = f"summarizer:\n  engine: llm\n  llm: {{base_url: {chat.url}, model: m, retries: 0}}\n"
        db = 3 if victim == "worker" else 5
        site = _site(tmp_path / "site", feeds, llm + _celery(redis_base, db))
        with _workers(site, 2, tmp_path) as procs:
            builder, outcome = _building(site, chat, asked=2)  # both workers mid-story
            if victim == "worker":  # the worker and its pool process: back after a timeout
                os.killpg(procs[0].pid, signal.SIGKILL)
            else:  # the worker sees its pool process die and gives the task back at once
                os.kill(_pool_process(procs[0]), signal.SIGKILL)
            builder.join(90)
        assert not builder.is_alive(), "the build never finished"
    (result,) = outcome
    assert isinstance(result, BuildResult), result
    stories = parse_draft(_draft(result)).stories
    ids = [s.id for s in stories]
    assert len(ids) == 4 and len(set(ids)) == 4, ids
    # every story was asked for, the killed worker's again: five requests, four stories
    asked = [r.messages[-1]["content"] for r in chat.requests]
    assert len(set(asked)) == 4 and len(asked) == 5
    assert all(s.fallback for s in result.report.stories)  # "{}" is no story: offline wrote


@pytest.mark.slow
def test_a_dead_broker_stops_the_build_with_a_clear_error_and_no_outbox(
    tmp_path: Path, feeds: FeedServer
) -> None:
    port = _free_port()  # nothing listens there: a broker that is down
    site = _site(tmp_path / "site", feeds, _celery(f"redis://127.0.0.1:{port}", 0))
    started = time.monotonic()
    result = CliRunner().invoke(
        cli, ["build", "--config", str(site.config), "--date", EDITION.isoformat()]
    )
    assert result.exit_code == 1, result.output
    assert f"error: fetch: cannot reach the task broker redis://127.0.0.1:{port}/0" in (
        result.output
    )
    assert time.monotonic() - started < 30
    assert not (tmp_path / "site" / "outbox" / EDITION.isoformat()).exists()
    with pytest.raises(TaskError):
        build_issue(site.load(), EDITION)


# -- tasks run twice, as after a lost acknowledgement ------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures" / "summarize"


def test_a_story_task_run_twice_asks_the_model_once(tmp_path: Path, chat: ChatServer) -> None:
    good = (FIXTURES / "llm" / "good_story.json").read_text(encoding="utf-8")
    chat.responder = lambda seen: Reply(content=good)
    row = json.loads((FIXTURES / "articles.jsonl").read_text().splitlines()[0])
    article = Article(
        id=row["id"], title=row["title"], text=row["text"], source=row["source"], url=row["url"]
    )
    llm = f"summarizer:\n  engine: llm\n  llm: {{base_url: {chat.url}, model: m}}\n"
    config = load_config(_write(tmp_path, NEWSLETTER_YAML + llm))
    task = celery_app(config).tasks["pipeline.summarize_story"]
    # called as a worker calls it, in this process: the same JSON in, JSON out
    first, again = (
        decode(SummaryRun, task(encode(ConfigRef.of(config)), encode(article))) for _ in range(2)
    )
    assert (first.calls, again.calls, again.cache_hits) == (1, 0, 1)
    assert first.stories == again.stories and first.stories[0].engine == "llm:m"
    assert len(chat.requests) == 1


@pytest.mark.slow
def test_a_feed_task_run_twice_stores_its_items_once(tmp_path: Path, feeds: FeedServer) -> None:
    config = _site(tmp_path / "site", feeds).load()
    task = celery_app(config).tasks["pipeline.fetch_feed"]
    urls = [feeds.url("/" + file) for file, *_ in SERVED]
    ref = encode(ConfigRef.of(config))
    first = [decode(SourceResult, r) for r in task(ref, urls)]
    again = [decode(SourceResult, r) for r in task(ref, urls)]
    assert [r.source for r in first] == urls and all(r.status == "ok" for r in first)
    assert sum(r.new for r in first) > 0
    assert [r.status for r in again] == ["not-modified"] * 2
    assert sum(r.new for r in again) == 0
    with open_store(config.state_path) as store:
        assert store.count_items() == sum(r.new for r in first)


@pytest.mark.slow
def test_tasks_no_worker_takes_stop_the_build_naming_them(
    tmp_path: Path, feeds: FeedServer, redis_base: str
) -> None:
    site = _site(tmp_path / "site", feeds, _celery(redis_base, 4, task_timeout=1))
    with pytest.raises(TaskError) as info:
        build_issue(site.load(), EDITION)
    message = str(info.value)
    assert message.startswith("fetch: 2 of 2 tasks not finished within tasks.task_timeout (1s;")
    assert all(feeds.url("/" + file) in message for file, *_ in SERVED)
    assert not (tmp_path / "site" / "outbox" / EDITION.isoformat()).exists()


@pytest.mark.slow
def test_a_broker_dying_mid_build_stops_it_with_a_clear_error_and_no_draft(
    tmp_path: Path, feeds: FeedServer
) -> None:
    with (
        serve_chat(ChatServer(responder=lambda seen: Reply(content="{}", delay=1.5))) as chat,
        _redis_server(tmp_path) as (redis, url),
    ):
        llm = f"summarizer:\n  engine: llm\n  llm: {{base_url: {chat.url}, model: m, retries: 0}}\n"
        site = _site(tmp_path / "site", feeds, llm + _celery(url, 0))
        with _workers(site, 2, tmp_path):
            builder, outcome = _building(site, chat, asked=1)  # summarize has begun
            redis.kill()
            redis.wait()
            stopped = time.monotonic()
            builder.join(60)
            assert not builder.is_alive(), "the build hung on a dead broker"
    (error,) = outcome
    assert isinstance(error, TaskError), error
    assert str(error).startswith(f"summarize: lost the task broker {url}/0: ")
    assert "\n" not in str(error)
    assert time.monotonic() - stopped < 30
    assert not (tmp_path / "site" / "outbox" / EDITION.isoformat() / "draft.md").exists()
