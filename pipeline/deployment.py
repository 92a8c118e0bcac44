"""Deployment: ``newsletters.yaml`` in, one frozen :class:`Deployment` (several checked
:class:`~pipeline.config.Config`) out.

The file names each newsletter of one deployment by its key and points at its own config
file (relative to this file; a folder means its ``config.yaml``), and may name one state
store they all share::

    state: state/shared.sqlite3      # optional (or postgresql://...)
    newsletters:
      morning: morning/config.yaml
      tech: tech/config.yaml

Each config is loaded with :func:`~pipeline.config.load_config` under its key, the shared
state replacing its ``paths.state``. Every problem is reported at once in one
:class:`ConfigError`: the file's own (line, key, value) and, under the newsletter's entry,
each problem of a config file with that file's name and line. Keys are slugs, given once
(YAML refuses a key twice); two newsletters never share an outbox folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError

from .config import KEY_PATTERN, Config, load_config, read_yaml_mapping, validation_problems
from .errors import ConfigError, ConfigProblem

__all__ = ["DEPLOYMENT_FILE", "Deployment", "load_deployment"]

DEPLOYMENT_FILE = "newsletters.yaml"


class _File(BaseModel):
    """The file's shape; the checks that need the other files come after."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    state: str = ""
    newsletters: dict[str, str]


@dataclass(frozen=True)
class Deployment:
    """Several newsletters run together: each one's config (``key`` set), in file order."""

    file: str
    newsletters: tuple[Config, ...]
    state: str = ""  # the store all share, as the file gives it ("" when each keeps its own)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.newsletters)

    @property
    def root(self) -> Path:
        return Path(self.file).resolve().parent

    def newsletter(self, key: str) -> Config:
        """The newsletter named ``key``; :class:`ConfigError` naming the ones there are."""
        for config in self.newsletters:
            if config.key == key:
                return config
        raise ConfigError(
            f"no newsletter {key!r} here (it lists: {', '.join(self.keys)})", file=self.file
        )

    @property
    def jobstore_path(self) -> Path:
        """The job store of the deployment's one scheduler (``newsletter schedule --all``)."""
        return self.root / "state" / (Path(self.file).stem + ".schedule.sqlite3")


def _state(root: Path, value: str) -> str | None:
    """The shared state as each config must name it: a URL as is, a path made absolute
    (a config resolves its paths against its own folder, not this file's)."""
    if not value:
        return None
    if "://" in value:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else root / path)


def load_deployment(path: str | os.PathLike[str]) -> Deployment:
    """Read and check a deployment file and every config it names; :class:`ConfigError`
    listing every problem (its own and its configs', each with file and line)."""
    name = str(path)
    mapping = read_yaml_mapping(path)
    lines = mapping.lines
    try:
        shape = _File.model_validate(mapping.data)
    except ValidationError as exc:
        _raise(name, validation_problems(exc, lines))
    root = Path(path).resolve().parent
    state = _state(root, shape.state)
    problems: list[ConfigProblem] = []
    if not shape.newsletters:
        problems.append(
            ConfigProblem(
                "name at least one newsletter", lines.get(("newsletters",)), "newsletters"
            )
        )
    configs: list[Config] = []
    for key, file in shape.newsletters.items():
        where = (lines.get(("newsletters", key)), f"newsletters.{key}")
        if not re.fullmatch(KEY_PATTERN, key):
            problems.append(
                ConfigProblem(
                    f"a newsletter's key is a slug: lower-case letters, digits, - and _,"
                    f" starting with a letter or digit (got {key!r})",
                    *where,
                )
            )
            continue
        target = root / Path(file).expanduser()
        target = target / "config.yaml" if target.is_dir() else target
        try:
            configs.append(load_config(target, key=key, state=state))
        except ConfigError as exc:
            # the config's own problems, each naming its file and line
            problems += [ConfigProblem(p.describe(exc.file), *where) for p in exc.problems]
    owners: dict[Path, str] = {}
    for config in configs:
        outbox = config.outbox_path.resolve()
        if outbox in owners:
            problems.append(
                ConfigProblem(
                    f"its outbox {outbox} is newsletter {owners[outbox]!r}'s outbox too;"
                    " give each newsletter its own (paths.outbox)",
                    lines.get(("newsletters", config.key)),
                    f"newsletters.{config.key}",
                )
            )
        owners.setdefault(outbox, config.key)
    if problems:
        _raise(name, problems)
    return Deployment(name, tuple(configs), shape.state)


def _raise(file: str, problems: list[ConfigProblem]) -> NoReturn:
    """Every problem at once, in the file's order."""
    first, *more = sorted(problems, key=lambda p: p.line or 0)
    raise ConfigError(first.detail, file=file, line=first.line, key=first.key, more=more)
