"""Scale: N newsletters x F loopback feeds and S stories through Celery workers on Redis.

Usage: .venv/bin/python bench/scale.py [--newsletters 3] [--feeds 2000] [--stories 300]
       [--workers 1,2,4] [--kill-trials 10] [--leader-trials 10] [--leader-feeds 20]
       [--latency 0.1] [--llm-seconds 1.0]
       (small and quick: --newsletters 2 --feeds 40 --stories 16 --workers 1,2 --kill-trials 2
       --leader-trials 2; ``--workers "" --kill-trials 0``: the leader trials alone, no Redis)

A server process on 127.0.0.1 serves N x F distinct RSS feeds (each answer delayed
``latency`` seconds, 304 to a known ETag) and an OpenAI-style chat endpoint answering every
story after ``llm-seconds`` (with ``{}``, which the gate refuses: the offline engine writes the
story, one LLM call each). A ``redis-server`` of the bench's own runs on a free port. For each
worker count W, W ``newsletter worker`` processes (one task at a time each) serve the N
newsletters' builds (``tasks.engine: celery``), run one after another; each newsletter makes
S / N stories over as many editions as the 40-story cap needs. Figures: wall time, and the
fetch and summarize (LLM-bound) stage times summed over the builds; the goal is 4 workers at
least 3x faster than 1 on summarize. ``--local`` adds the same work built in-process.

``--kill-trials K``: K more editions with 2 workers (or the most asked for), each losing a
random worker to kill -9 mid-fetch or mid-summarize (a new one starts in its place). Each edition
must be built once (one history entry), with every story (no loss), none twice and none an
earlier edition of that newsletter used.

``--leader-trials K``: K deployments (``newsletters.yaml``) of the N newsletters, each in a fresh
folder with ``--leader-feeds`` feeds apiece, one shared SQLite state, the extractive engine
built in-process, and a build due minutes ago that is sent to a loopback SMTP server (aiosmtpd)
of the bench's own. Scheduler A (``newsletter schedule --all``) leads and starts building; the
first request of one feed stalls so that A is mid-build when, B standing by, A dies by kill -9
(its process group). B must take over and build and send each edition: one history entry, one
message per newsletter, no link twice in a draft, and no build finished by A. Figures: passed,
seconds a trial, takeover (kill to B leading) median and max. Prints a table, then one JSON
object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import multiprocessing
import multiprocessing.sharedctypes
import os
import queue
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from build import _article  # noqa: E402  (bench/build.py: distinct invented events)

from pipeline.build import BuildResult, build_issue  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.deployment import load_deployment  # noqa: E402
from pipeline.draft import parse_draft  # noqa: E402
from pipeline.tasks import celery_app  # noqa: E402

FIRST_EDITION = date(2026, 11, 28)
CAP = 40  # issue.stories at most
Counter = multiprocessing.sharedctypes.Synchronized
STALL_SECONDS = 15.0  # a stalled feed's first answer: under fetch.timeout (20 s), so it comes
LEADER_STORIES = 4  # issue.stories of a leader trial's editions
# the scheduler's last line about one newsletter's edition: sent, or why not
ENDS = ("sent the issue of ", "the issue of ", "scheduled build of ", "the scheduled build of ")


# -- the loopback server: feeds and a slow chat endpoint -------------------------------------


def _feed_body(n: int, f: int, items: int) -> bytes:
    rng = random.Random(n * 1_000_003 + f)
    entries = []
    for k in range(items):
        title, body = _article(rng, (n * 100_000 + f) * 100 + k)
        link = f"https://n{n}-wire{f}.example/story/{k}"
        entries.append(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>Fri, 27 Nov 2026 {k % 24:02d}:{f % 60:02d}:00 GMT</pubDate>"
            f"<description>{body.replace('<', '&lt;').replace('>', '&gt;')}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Wire {n}-{f}</title><link>https://n{n}-wire{f}.example/</link>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def _answer(status: str, body: bytes, ctype: str, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def _chat(model: str) -> bytes:
    payload = {
        "id": "bench",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "{}"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 70, "completion_tokens": 30, "total_tokens": 100},
    }
    return json.dumps(payload).encode()


def _server(
    ports: multiprocessing.Queue[int],
    items: int,
    latency: float,
    llm_seconds: float,
    feeds_seen: Counter[int],
    llm_seen: Counter[int],
) -> None:
    bodies: dict[str, bytes] = {}
    stalled: set[str] = set()

    async def reply(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        if method == "POST":
            with llm_seen.get_lock():
                llm_seen.value += 1
            await asyncio.sleep(llm_seconds)
            return _answer("200 OK", _chat(json.loads(body)["model"]), "application/json")
        with feeds_seen.get_lock():
            feeds_seen.value += 1
        if "?stall=" in path and path not in stalled:
            stalled.add(path)  # the first request hangs, so a kill lands mid-fetch
            await asyncio.sleep(STALL_SECONDS)
        path = path.partition("?")[0]
        await asyncio.sleep(latency)
        etag = f'"{path}"'
        if headers.get("if-none-match") == etag:
            return _answer("304 Not Modified", b"", "application/rss+xml", f"ETag: {etag}\r\n")
        if path not in bodies:  # /n<N>/f<F>.xml
            n, f = (int(part[1:]) for part in path.removesuffix(".xml").strip("/").split("/"))
            bodies[path] = _feed_body(n, f, items)
        return _answer("200 OK", bodies[path], "application/rss+xml", f"ETag: {etag}\r\n")

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                request, *lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request.split(" ", 2)
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                writer.write(await reply(method, path, headers, body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()  # the client went away (a killed worker's, say)
            return
        writer.close()

    async def run() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", 0, backlog=4096)
        ports.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(run())


# -- Redis and the workers ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is missing: install Debian's redis-server package")
    port = _free_port()
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    proc = subprocess.Popen([*argv, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"redis://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    sys.exit(f"redis-server did not start on port {port}")


@dataclass
class Workers:
    """``newsletter worker`` processes for one config's broker, each in its own group."""

    config: Path
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0

    def start(self, count: int = 1) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for _ in range(count):
            self.started += 1
            log = (self.logs / f"worker{self.started}.log").open("wb")
            argv = [sys.executable, "-m", "pipeline.cli", "worker", "--config", str(self.config)]
            argv += ["-c", "1", "--log-format", "plain", "--name", f"w{self.started}@%h"]
            self.procs.append(
                subprocess.Popen(
                    argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            )

    def wait_ready(self) -> None:
        app = celery_app(load_config(self.config))
        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=0.5)) < len(self.procs):
            if time.monotonic() > deadline:
                sys.exit(f"workers did not come up; see {self.logs}")
        app.close()

    def kill_one(self, rng: random.Random) -> None:
        victim = self.procs.pop(rng.randrange(len(self.procs)))
        os.killpg(victim.pid, signal.SIGKILL)  # the worker and its pool process
        victim.wait()

    def stop(self) -> None:
        for proc in self.procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()


# -- the newsletters ------------------------------------------------------------------------


def _config_yaml(
    i: int,
    feeds: int,
    server: str,
    stories: int,
    sections: str,
    *,
    zone: str = "UTC",
    stall: str = "",
) -> str:
    """Newsletter ``i``'s config: its ``feeds`` loopback feeds (the first one's first request
    stalled when ``stall`` names it) and ``sections``, the YAML of its engine and the rest."""
    urls = "\n".join(
        f"    - {{url: '{server}/n{i}/f{f}.xml{f'?stall={stall}' if stall and not f else ''}',"
        f" name: Wire {i}-{f}, allow_internal: true}}"
        for f in range(feeds)
    )
    return (
        f"newsletter:\n  name: Bench {i}\n  sender: {{name: Bench, email: b@example.com}}\n"
        "  signup_url: https://b.example/s\n  unsubscribe_url: https://b.example/u\n"
        f"  postal_address: 1 Bench Road\n  timezone: {zone}\n"
        f"sources:\n  feeds:\n{urls}\n"
        f"issue: {{stories: {stories}, quick_links: 0, min_stories: 1, max_age_hours: 8760}}\n"
        # the local engine's fetcher gets room for every feed on the one loopback host
        "fetch: {concurrency: 64, per_host: 64, full_text: false}\n" + sections
    )


def _configs(
    folder: Path,
    args: argparse.Namespace,
    stories: int,
    server: str,
    broker: str,
    engine: str,
) -> list[Path]:
    sections = (
        f"summarizer:\n  engine: llm\n  llm: {{base_url: {server}/v1, model: bench,"
        " retries: 0, timeout: 30, concurrency: 1}\n"
        f"tasks: {{engine: {engine}, broker: {broker}, task_timeout: 3600,"
        f" visibility_timeout: 5, feeds_per_task: {args.feeds_per_task}}}\n"
    )
    paths = []
    for i in range(args.newsletters):
        site = folder / f"n{i}"
        site.mkdir(parents=True)
        text = _config_yaml(i, args.feeds, server, stories, sections)
        (site / "config.yaml").write_text(text, encoding="utf-8")
        paths.append(site / "config.yaml")
    return paths


def _stories(result: BuildResult) -> list[str]:
    text = (result.outbox / "draft.md").read_text(encoding="utf-8")
    return [s.id for s in parse_draft(text).stories]


def _round(
    folder: Path, args: argparse.Namespace, server: str, broker: str, workers: int
) -> dict[str, Any]:
    """The N newsletters' editions through ``workers`` workers (0: built in-process)."""
    per = math.ceil(args.stories / args.newsletters)
    editions = math.ceil(per / CAP)
    engine = "celery" if workers else "local"
    configs = _configs(folder, args, math.ceil(per / editions), server, broker, engine)
    pool = Workers(configs[0], folder)
    if workers:
        pool.start(workers)
        pool.wait_ready()
    fetch = summarize = 0.0
    made = 0
    t0 = time.perf_counter()
    try:
        for path in configs:
            config = load_config(path)
            for e in range(editions):
                result = build_issue(config, FIRST_EDITION + timedelta(days=e))
                fetch += result.report.timings.get("ingest", 0.0)
                summarize += result.report.timings.get("summarize", 0.0)
                made += len(_stories(result))
    finally:
        pool.stop()
    return {
        "workers": workers,
        "engine": engine,
        "wall_s": round(time.perf_counter() - t0, 2),
        "fetch_s": round(fetch, 2),
        "summarize_s": round(summarize, 2),
        "editions": editions * args.newsletters,
        "stories": made,
    }


def _trials(
    folder: Path,
    args: argparse.Namespace,
    server: str,
    broker: str,
    counters: tuple[Counter[int], Counter[int]],
) -> dict[str, Any]:
    """Editions each losing a random worker to kill -9 mid-run; what each one came out as."""
    rng = random.Random(13)
    count = max([2, *args.workers])
    per = min(CAP, max(4, math.ceil(args.stories / args.newsletters / 4)))
    configs = _configs(folder, args, per, server, broker, "celery")
    pool = Workers(configs[0], folder)
    pool.start(count)
    pool.wait_ready()
    used: dict[int, set[str]] = {}
    failures: list[str] = []
    extra_calls = 0
    try:
        for trial in range(args.kill_trials):
            nl = trial % args.newsletters
            config = load_config(configs[nl])
            day = FIRST_EDITION + timedelta(days=trial // args.newsletters)
            stage = ("fetch", "summarize")[trial % 2]
            counter = counters[0] if stage == "fetch" else counters[1]
            before_llm = counters[1].value
            at = counter.value + rng.randint(1, per - 1 if stage == "summarize" else args.feeds)
            outcome: list[BuildResult | BaseException] = []

            def run(config: Any = config, day: date = day, outcome: list[Any] = outcome) -> None:
                try:
                    outcome.append(build_issue(config, day))
                except BaseException as exc:
                    outcome.append(exc)

            builder = threading.Thread(target=run)
            builder.start()
            while counter.value < at and builder.is_alive():
                time.sleep(0.005)
            pool.kill_one(rng)
            pool.start()  # the machine's supervisor would restart it
            builder.join()
            (result,) = outcome
            if not isinstance(result, BuildResult):
                failures.append(f"trial {trial} ({stage}): {type(result).__name__}: {result}")
                continue
            ids = _stories(result)
            history = json.loads((result.outbox / "report.json").read_text())["history"]
            seen = used.setdefault(nl, set())
            problems = [
                f"{len(ids)} stories, not {per}" if len(ids) != per else "",
                "a story twice" if len(set(ids)) != len(ids) else "",
                "a story an earlier edition used" if seen & set(ids) else "",
                f"built {len(history)} times" if len(history) != 1 else "",
            ]
            if any(problems):
                failures.append(f"trial {trial} ({stage}): " + "; ".join(p for p in problems if p))
            seen.update(ids)
            extra_calls += counters[1].value - before_llm - per
    finally:
        pool.stop()
    return {
        "trials": args.kill_trials,
        "workers": count,
        "stories_per_edition": per,
        "passed": args.kill_trials - len(failures),
        "failures": failures,
        "llm_calls_repeated": extra_calls,
    }


# -- leader trials: kill -9 of the leading scheduler mid-build ------------------------------


class TrialFailed(Exception):
    """A leader trial went wrong: what, in words."""


class Inbox:
    """An aiosmtpd handler counting the messages each recipient gets."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.counts.update(envelope.rcpt_tos)
        return "250 OK"


class Scheduler:
    """A ``newsletter schedule --all --log-format json`` process; a thread queues the message
    of each log line with when it came."""

    def __init__(self, deployment: Path, name: str) -> None:
        argv = [sys.executable, "-m", "pipeline.cli", "schedule", "--all", "--deployment"]
        argv += [str(deployment), "--log-format", "json", "--standby-poll", "0.2"]
        self.name = name
        self.proc = subprocess.Popen(
            argv,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # kill -9 takes the process group, as a machine dying would
        )
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                message = str(json.loads(line)["message"])
            except (ValueError, KeyError, TypeError):
                message = line.rstrip()  # a traceback's lines, say: kept for the failure
            self.lines.put((time.monotonic(), message))

    def wait_for(self, *prefixes: str, timeout: float) -> tuple[float, str]:
        """The first next line starting with one of ``prefixes``, and when it came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                at, message = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(message)
            if message.startswith(prefixes):
                return at, message
        raise TrialFailed(f"{self.name}: no line {prefixes} in {timeout:g} s; saw {self.seen[-5:]}")

    def stop(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _zone() -> str:
    """A zone where it is now between 02:00 and 22:00: a build due minutes ago is today's."""
    for zone in ("UTC", "America/New_York", "Asia/Tokyo"):
        if 2 <= datetime.now(ZoneInfo(zone)).hour < 22:
            return zone
    raise AssertionError("three zones 5 and 9 hours apart cannot all be near midnight")


def _leader_deployment(
    folder: Path, args: argparse.Namespace, server: str, smtp: int, zone: str
) -> Path:
    """``newsletters.yaml`` of the N newsletters on one SQLite state, each due minutes ago
    and sent to ``n<i>@<folder>.example`` through the loopback SMTP server."""
    due = (datetime.now(ZoneInfo(zone)) - timedelta(minutes=3)).strftime("%H:%M")
    entries = []
    for i in range(args.newsletters):
        sections = (
            "summarizer: {engine: extractive}\ntasks: {engine: local}\n"
            f"schedule: {{build_at: '{due}', ingest_every_minutes: 0,"
            f" misfire_grace_seconds: 3600, send: true, send_to: [n{i}@{folder.name}.example]}}\n"
            f"smtp: {{host: 127.0.0.1, port: {smtp}, security: none, timeout: 10}}\n"
        )
        # newsletter 0's first feed stalls: the leader is mid-build when it dies
        stall = folder.name if i == 0 else ""
        text = _config_yaml(
            i, args.leader_feeds, server, LEADER_STORIES, sections, zone=zone, stall=stall
        )
        (folder / f"n{i}").mkdir(parents=True)
        (folder / f"n{i}" / "config.yaml").write_text(text, encoding="utf-8")
        entries.append(f"  n{i}: n{i}/config.yaml\n")
    path = folder / "newsletters.yaml"
    path.write_text("state: state/shared.sqlite3\nnewsletters:\n" + "".join(entries))
    return path


def _leader_trial(
    folder: Path,
    args: argparse.Namespace,
    server: str,
    smtp: int,
    inbox: Inbox,
    rng: random.Random,
) -> tuple[float, float]:
    """Scheduler A leads and builds; B stands by; A dies by kill -9 mid-build; B takes over.
    Returns the trial's seconds and B's takeover seconds; :class:`TrialFailed` says what broke."""
    zone = _zone()
    path = _leader_deployment(folder, args, server, smtp, zone)
    deployment = load_deployment(path)
    edition = datetime.now(ZoneInfo(zone)).date().isoformat()
    t0 = time.monotonic()
    a = Scheduler(path, "A")
    b: Scheduler | None = None
    try:
        a.wait_for("leader of ", timeout=60)
        a.wait_for("building the issue of ", timeout=60)
        b = Scheduler(path, "B")
        b.wait_for("standby for ", timeout=60)
        # B tries the lock a few times meanwhile: the kill lands anywhere in its poll
        time.sleep(rng.uniform(0.3, 1.0))
        killed = time.monotonic()
        a.stop(signal.SIGKILL)
        led, _ = b.wait_for("leader of ", timeout=60)
        for _ in deployment.newsletters:
            # a failed build or send says so at once rather than at the timeout
            _, line = b.wait_for(*ENDS, timeout=120)
            if not line.startswith("sent"):
                raise TrialFailed(f"B: {line}")
        seconds = time.monotonic() - t0
        b.stop(signal.SIGTERM)
        if b.proc.returncode != 0:
            raise TrialFailed(f"B exited {b.proc.returncode} on SIGTERM")
    finally:
        for proc in (a, b):
            if proc is not None:
                proc.stop(signal.SIGKILL)
    problems = []
    while not a.lines.empty():
        a.seen.append(a.lines.get()[1])
    if [m for m in a.seen if m.startswith("Issue ")]:
        problems.append("A finished a build before it was killed")
    for config in deployment.newsletters:
        folder_ = config.outbox_path / edition
        history = json.loads((folder_ / "report.json").read_text())["history"]
        draft = parse_draft((folder_ / "draft.md").read_text(encoding="utf-8"))
        links = [s.url for story in draft.stories for s in story.sources]
        links += [q.url for q in draft.quick_links]
        sent = inbox.counts[f"{config.key}@{folder.name}.example"]
        problems += [
            f"{config.key}: built {len(history)} times" if len(history) != 1 else "",
            f"{config.key}: sent {sent} times" if sent != 1 else "",
            f"{config.key}: an item twice" if len(set(links)) != len(links) else "",
            f"{config.key}: {len(draft.stories)} stories"
            if len(draft.stories) != LEADER_STORIES
            else "",
        ]
    if any(problems):
        raise TrialFailed("; ".join(p for p in problems if p))
    return seconds, led - killed


def _leader_trials(folder: Path, args: argparse.Namespace, server: str) -> dict[str, Any]:
    """``--leader-trials`` trials against one loopback SMTP server; what they came out as."""
    inbox = Inbox()
    rng = random.Random(13)
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    seconds: list[float] = []
    takeovers: list[float] = []
    failures: list[str] = []
    try:
        for trial in range(args.leader_trials):
            try:
                took, takeover = _leader_trial(
                    folder / f"t{trial}", args, server, smtp.port, inbox, rng
                )
            except (TrialFailed, OSError, ValueError) as exc:
                failures.append(f"trial {trial}: {type(exc).__name__}: {exc}")
                continue
            seconds.append(took)
            takeovers.append(takeover)
            print(f"  leader trial {trial}: {took:.1f} s, takeover {takeover:.3f} s", flush=True)
    finally:
        smtp.stop()
    return {
        "trials": args.leader_trials,
        "newsletters": args.newsletters,
        "feeds_per_newsletter": args.leader_feeds,
        "passed": args.leader_trials - len(failures),
        "failures": failures,
        "seconds_per_trial": round(statistics.mean(seconds), 2) if seconds else None,
        "takeover_s_median": round(statistics.median(takeovers), 3) if takeovers else None,
        "takeover_s_max": round(max(takeovers), 3) if takeovers else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--newsletters", type=int, default=3)
    ap.add_argument("--feeds", type=int, default=2000, help="feeds per newsletter")
    ap.add_argument("--stories", type=int, default=300, help="stories in all")
    ap.add_argument("--workers", default="1,2,4", help="worker counts to time")
    ap.add_argument("--kill-trials", type=int, default=10)
    ap.add_argument("--leader-trials", type=int, default=10, help="kill -9 of the leader")
    ap.add_argument("--leader-feeds", type=int, default=20, help="feeds per newsletter there")
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--llm-seconds", type=float, default=1.0)
    ap.add_argument("--local", action="store_true", help="also build in-process (engine local)")
    ap.add_argument("--feeds-per-task", type=int, default=1, help="tasks.feeds_per_task")
    args = ap.parse_args()
    args.workers = [int(w) for w in args.workers.split(",") if w]
    per = math.ceil(args.stories / args.newsletters)
    # each feed carries enough fresh items for every edition and trial to find new stories
    items = max(1, math.ceil(3 * (per + args.kill_trials * CAP) / args.feeds))
    items = max(items, math.ceil(3 * LEADER_STORIES / max(args.leader_feeds, 1)))
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    counters = (multiprocessing.Value("i", 0), multiprocessing.Value("i", 0))
    serving = multiprocessing.Process(
        target=_server,
        args=(ports, items, args.latency, args.llm_seconds, *counters),
        daemon=True,
    )
    serving.start()
    server = f"http://127.0.0.1:{ports.get(timeout=30)}"
    runs: list[dict[str, Any]] = []
    trials: dict[str, Any] = {}
    leader: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        counts = ([0] if args.local else []) + args.workers
        # Redis only for the worker part: the leader trials build in the schedulers' processes
        redis, base = _redis(Path(tmp)) if args.workers or args.kill_trials else (None, "")
        try:
            for db, workers in enumerate(counts, start=1):
                runs.append(_round(Path(tmp, f"w{workers}"), args, server, f"{base}/{db}", workers))
                run = runs[-1]
                print(
                    f"{workers or 'local':>6} workers: {run['wall_s']:>8.1f} s wall,"
                    f" fetch {run['fetch_s']:>7.1f} s, summarize {run['summarize_s']:>7.1f} s,"
                    f" {run['stories']} stories",
                    flush=True,
                )
            if args.kill_trials:
                trials = _trials(Path(tmp, "kill"), args, server, f"{base}/15", counters)
            if args.leader_trials:
                leader = _leader_trials(Path(tmp, "leader"), args, server)
        finally:
            if redis is not None:
                redis.kill()
                redis.wait()
            serving.kill()
    timed = {r["workers"]: r for r in runs}
    figures: dict[str, Any] = {
        "newsletters": args.newsletters,
        "feeds_per_newsletter": args.feeds,
        "stories": args.stories,
        "latency_s": args.latency,
        "llm_seconds": args.llm_seconds,
        "feeds_per_task": args.feeds_per_task,
        "runs": runs,
        "kill_trials": trials,
        "leader_trials": leader,
    }
    if 1 in timed and 4 in timed:
        speedup = timed[1]["summarize_s"] / max(timed[4]["summarize_s"], 1e-9)
        figures["summarize_speedup_4_vs_1"] = round(speedup, 2)
        figures["goal_3x_met"] = speedup >= 3
    if trials:
        print(f"kill trials: {trials['passed']} of {trials['trials']} passed {trials['failures']}")
    if leader:
        print(
            f"leader trials: {leader['passed']} of {leader['trials']} passed,"
            f" {leader['seconds_per_trial']} s a trial, takeover {leader['takeover_s_median']} s"
            f" median, {leader['takeover_s_max']} s max {leader['failures']}"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
