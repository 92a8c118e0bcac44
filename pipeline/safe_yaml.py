"""YAML text in, plain data out: no aliases, no duplicate keys, no runaway nesting.

Every YAML document the pipeline reads from a file (``config.yaml``, the front matter of
inbox story files and of ``draft.md``, the house style) goes through :func:`load_yaml` or
:func:`load_yaml_nodes`. A 600-byte alias list (``b: [*a, *a, ...]`` nine levels deep)
stands for billions of values: whoever walks it (validation, ``str()``, a line map)
runs out of memory, so an alias is refused where it appears, and so is a key given
twice in one mapping (YAML would silently keep the last one).

Errors are :class:`yaml.MarkedYAMLError` like PyYAML's own, with ``problem`` and
``problem_mark`` (the line), so callers report them as they report any YAML error.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

__all__ = ["load_yaml", "load_yaml_nodes"]


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing aliases and duplicate keys."""

    first_line = 1  # the file line of the document's first line, for messages

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ComposerError(
                None,
                None,
                f"aliases (*{event.anchor}) are not allowed here: write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key {key_node.value!r} (first given on line {seen[key]})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line + self.first_line
        return super().construct_mapping(node, deep)


def load_yaml_nodes(text: str, *, first_line: int = 1) -> tuple[Any, yaml.Node | None]:
    """The document's data and its node tree (whose marks give each key's line).

    ``first_line`` is the line of the file the text starts on (2 for front matter
    after its opening ``---``), so messages that name another line name the file's."""
    loader = _Loader(text)
    loader.first_line = first_line
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except RecursionError:
        # the composer recurses once per level: '[' * 100000 must be an error, not a crash
        raise ComposerError(None, None, "nested too deeply", None) from None
    finally:
        loader.dispose()
    return data, node


def load_yaml(text: str, *, first_line: int = 1) -> Any:
    """The document's data, as ``yaml.safe_load`` gives it, without aliases or duplicate keys."""
    return load_yaml_nodes(text, first_line=first_line)[0]
