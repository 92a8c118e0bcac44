"""newsletter-pipeline: feeds and story files in, a house-style daily newsletter out.

The public entry point is :func:`pipeline.build.build_issue`; the CLI, the scheduler
and the preview server all call it.
"""

from .errors import (
    ConfigError,
    DraftError,
    FetchError,
    LockedError,
    NewsletterError,
    NoIssueError,
    RenderError,
    SendError,
    SourceError,
    SummarizeError,
)

__all__ = [
    "ConfigError",
    "DraftError",
    "FetchError",
    "LockedError",
    "NewsletterError",
    "NoIssueError",
    "RenderError",
    "SendError",
    "SourceError",
    "SummarizeError",
]
__version__ = "0.1.0"
