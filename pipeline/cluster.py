"""Same-event clustering (placeholder until the ingest work lands): each item alone."""

from __future__ import annotations

from collections.abc import Sequence

from .models import Item

__all__ = ["cluster_items"]


def cluster_items(items: Sequence[Item]) -> list[tuple[Item, ...]]:
    """Group items that cover the same event; order-stable."""
    return [(item,) for item in items]
