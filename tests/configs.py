"""Newsletter configs for tests that need no site folder, and the YAML block they start from.

In: an LLM server's base URL and LLM settings (or nothing). Out: ``NEWSLETTER_YAML``, the
``newsletter:`` block a test's ``config.yaml`` starts with; ``plain_config()``, a checked
``Config`` of that block with the default (offline) summarizer; ``llm_config(base_url,
**llm)``, the same with the LLM engine on ``base_url``. Imports only ``pipeline``, so the
opt-in real-model test (run from the repository root) can use it as ``tests.configs``.
"""

from __future__ import annotations

from typing import Any

import yaml

from pipeline.config import LLM, Config, Newsletter, Summarizer

NEWSLETTER_YAML = """\
newsletter:
  name: The Ledger
  sender: {name: The Ledger, email: news@example.com}
  signup_url: https://example.com/signup
  unsubscribe_url: https://example.com/unsubscribe
  postal_address: 1 Main St, Springfield
"""

# the same block, for configs built in code
_NEWSLETTER = Newsletter.model_validate(yaml.safe_load(NEWSLETTER_YAML)["newsletter"])


def plain_config() -> Config:
    """A minimal newsletter config: ``NEWSLETTER_YAML`` and the default offline engine."""
    return Config(newsletter=_NEWSLETTER)


def llm_config(base_url: str, **llm: Any) -> Config:
    """``plain_config()`` with the LLM engine on ``base_url``: a test model, a 2 s timeout,
    one retry and one request at a time unless ``llm`` says otherwise."""
    settings = {
        "base_url": base_url,
        "model": "test-model",
        "timeout": 2.0,
        "retries": 1,
        "concurrency": 1,
        **llm,
    }
    return Config(newsletter=_NEWSLETTER, summarizer=Summarizer(engine="llm", llm=LLM(**settings)))
