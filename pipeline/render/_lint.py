"""Checks on the finished email: a :class:`RenderedIssue` in, :class:`Finding` objects out.

Works on the final files only (html, text, eml bytes), so it can check an issue
rebuilt from the outbox as well as a fresh render. ``severity="error"`` findings
block sending; warnings do not. ``part`` names the place: ``html: img #3``,
``header: List-Unsubscribe``, ``text: line 12``.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser

from ..config import Config
from ..models import Finding, RenderedIssue, Severity

_TEXT_WIDTH = 78
# case matters for TK/TODO: "todo" in running text is a word, "TODO" is an editor's note
_PLACEHOLDERS = (
    re.compile(r"\b(?:TK|TKTK|TODO|FIXME|XXX)\b"),
    re.compile(
        r"lorem ipsum|\{\{[^{}]*\}\}|\{%[^{}]*%\}|\{\{|\{%|\[(?:placeholder|insert\b[^\]]*)\]", re.I
    ),
)
_MARKUP = re.compile(
    r"</?(?:a|b|br|div|em|h[1-6]|i|img|li|ol|p|span|strong|table|td|tr|ul|html|body|style|script)"
    r"(?:\s[^>]*)?/?>",
    re.I,
)
_BAD_SCHEMES = ("javascript:", "vbscript:", "data:", "file:")
_NEEDS_TEXT = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "ul", "ol", "a", "strong"})
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


def lint_email(rendered: RenderedIssue, config: Config) -> tuple[Finding, ...]:
    """Check the rendered issue; every finding names its rule, place and severity."""
    findings: list[Finding] = []
    findings += _check_size(rendered.html, config.email.max_html_bytes)
    html = _HtmlChecks.run(rendered.html)
    findings += html.findings
    findings += _check_text(rendered.text)
    findings += _check_parts(html, rendered.text, config)
    findings += _check_message(rendered.eml, rendered.subject)
    return tuple(findings)


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _check_parts(html: _HtmlChecks, text: str, config: Config) -> list[Finding]:
    """The parts every issue needs: stories, a visible unsubscribe link, the postal address."""
    nl = config.newsletter
    findings: list[Finding] = []
    if not html.headlines:
        findings.append(_finding("empty-section", "the issue has no story", "html: body"))
    if nl.unsubscribe_url not in html.hrefs:
        findings.append(
            _finding(
                "unsubscribe-link",
                "no visible link to the unsubscribe page",
                "html: footer",
                text=nl.unsubscribe_url,
            )
        )
    visible = _squash(" ".join(html.visible))
    address = _squash(nl.postal_address)
    if address not in visible:
        findings.append(
            _finding(
                "postal-address",
                "the postal address is missing",
                "html: footer",
                text=nl.postal_address,
            )
        )
    if text.strip():
        plain = _squash(text)
        if nl.unsubscribe_url not in text:
            findings.append(
                _finding(
                    "unsubscribe-link",
                    "no unsubscribe address in the plain text",
                    "text: footer",
                    text=nl.unsubscribe_url,
                )
            )
        if address not in plain:
            findings.append(
                _finding(
                    "postal-address",
                    "the postal address is missing",
                    "text: footer",
                    text=nl.postal_address,
                )
            )
        for n, headline in enumerate(html.headlines, 1):
            if _squash(headline) not in plain:
                findings.append(
                    _finding(
                        "text-incomplete",
                        f"story {n} is missing from the plain text",
                        "text",
                        "warning",
                        headline,
                    )
                )
    return findings


def _finding(
    rule: str, message: str, part: str, severity: Severity = "error", text: str = ""
) -> Finding:
    return Finding(rule=rule, message=message, part=part, severity=severity, text=text[:200])


def _placeholders(text: str) -> list[str]:
    return [m.group(0) for pattern in _PLACEHOLDERS for m in pattern.finditer(text)]


def _check_size(html: str, budget: int) -> list[Finding]:
    size = len(html.encode("utf-8"))
    if size > budget:
        return [
            _finding(
                "html-size",
                f"HTML is {size} bytes, over the {budget}-byte budget "
                "(Gmail clips longer messages)",
                "html",
            )
        ]
    if size > budget * 0.9:
        return [
            _finding(
                "html-size",
                f"HTML is {size} bytes, within 10% of the {budget}-byte budget",
                "html",
                "warning",
            )
        ]
    return []


class _HtmlChecks(HTMLParser):
    """One pass over the HTML collecting findings about tags, attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[Finding] = []
        self.counts: dict[str, int] = {}
        self.open: list[list[object]] = []  # [tag, part, has_content] for tags needing text
        self.in_style = False
        self.styles: list[str] = []
        self.lang = ""
        self.color_scheme = False
        self.hrefs: list[str] = []
        self.headlines: list[str] = []
        self.visible: list[str] = []
        self._in_h2 = False

    @classmethod
    def run(cls, html: str) -> _HtmlChecks:
        checker = cls()
        checker.feed(html)
        checker.close()
        checker.finish()
        return checker

    def _part(self, tag: str) -> str:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        return f"html: {tag} #{self.counts[tag]}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        part = self._part(tag)
        values = {k: (v or "") for k, v in attrs}
        if tag == "html":
            self.lang = values.get("lang", "")
        if tag == "script":
            self.findings.append(_finding("script", "script element in the email", part))
        if tag == "style":
            self.in_style = True
        if tag == "h2":
            self._in_h2 = True
            self.headlines.append("")
        if tag == "a":
            self.hrefs.append(values.get("href", ""))
        if tag == "meta" and values.get("name") == "color-scheme":
            self.color_scheme = True
        if tag == "link" and "stylesheet" in values.get("rel", "").lower():
            self.findings.append(
                _finding(
                    "external-stylesheet",
                    "external stylesheet link",
                    part,
                    text=values.get("href", ""),
                )
            )
        for name in values:
            if name.startswith("on"):
                self.findings.append(
                    _finding(
                        "event-handler", f"event-handler attribute {name}", part, text=values[name]
                    )
                )
        for name in ("href", "src"):
            if name in values:
                self._check_url(values[name], part, name)
        if tag == "img":
            self._mark_content()
            if not values.get("alt", "").strip():
                self.findings.append(
                    _finding("img-alt", "image without alt text", part, text=values.get("src", ""))
                )
        width = values.get("width", "")
        if width.isdigit() and int(width) > 600:
            self.findings.append(
                _finding("max-width", f"width {width} is over 600 px", part, "warning")
            )
        if tag in _NEEDS_TEXT:
            self.open.append([tag, part, False])
        elif tag in _VOID:
            return

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _NEEDS_TEXT:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.in_style = False
        if tag == "h2":
            self._in_h2 = False
        if tag not in _NEEDS_TEXT:
            return
        while self.open:
            name, part, has_content = self.open.pop()
            if not has_content:
                self.findings.append(_finding("empty-section", f"empty <{name}>", str(part)))
            else:
                self._mark_content()  # a filled child fills its parent too
            if name == tag:
                break

    def _mark_content(self) -> None:
        for entry in self.open:
            entry[2] = True

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.styles.append(data)
            return
        self.visible.append(data)
        if self._in_h2:
            self.headlines[-1] += data
        if data.strip():
            self._mark_content()
            snippet = " ".join(data.split())
            for found in _placeholders(snippet):
                self.findings.append(
                    _finding(
                        "placeholder",
                        f"unfinished placeholder {found!r}",
                        f"html: text {snippet[:40]!r}",
                        text=snippet,
                    )
                )

    def _check_url(self, url: str, part: str, attr: str) -> None:
        u = url.strip()
        low = re.sub(r"\s+", "", u).lower()
        where = f"{part} {attr}"
        if low.startswith(_BAD_SCHEMES):
            self.findings.append(
                _finding("link-scheme", f"forbidden URL scheme in {attr}", where, text=u)
            )
        elif low.startswith("https://") or (attr == "href" and low.startswith(("mailto:", "tel:"))):
            return
        elif low.startswith("http://"):
            self.findings.append(
                _finding("link-scheme", f"{attr} is http, not https", where, "warning", u)
            )
        else:
            self.findings.append(
                _finding("link-scheme", f"{attr} is not an absolute https URL", where, text=u)
            )

    def finish(self) -> None:
        for css in self.styles:
            if "@import" in css:
                self.findings.append(
                    _finding("external-stylesheet", "@import in a style block", "html: style")
                )
        if not self.lang or self.lang.lower() == "und":
            self.findings.append(
                _finding("lang", "the document has no language (lang)", "html: html", "warning")
            )
        if not self.color_scheme:
            self.findings.append(
                _finding("dark-mode", "no color-scheme meta for dark mode", "html: head", "warning")
            )


def _check_text(text: str) -> list[Finding]:
    if not text.strip():
        return [_finding("text-missing", "the plain-text part is empty", "text")]
    findings: list[Finding] = []
    for n, line in enumerate(text.splitlines(), 1):
        part = f"text: line {n}"
        if _MARKUP.search(line):
            findings.append(
                _finding("text-readable", "HTML markup in the plain text", part, text=line)
            )
        if re.search(r"&(?:[a-zA-Z]+|#\d+);", line):
            findings.append(
                _finding("text-readable", "HTML entity in the plain text", part, text=line)
            )
        if len(line) > _TEXT_WIDTH and " " in line.strip():
            # a line that is one long URL cannot be wrapped; anything else can
            findings.append(
                _finding(
                    "text-readable",
                    f"line of {len(line)} characters, over {_TEXT_WIDTH}",
                    part,
                    "warning",
                    line,
                )
            )
        for found in _placeholders(line):
            findings.append(
                _finding("placeholder", f"unfinished placeholder {found!r}", part, text=line)
            )
    return findings


def _check_message(eml: bytes, subject: str) -> list[Finding]:
    try:
        msg = message_from_bytes(eml, policy=policy.default)
    except Exception as exc:  # a broken file must become a finding, not a crash
        return [_finding("mime", f"the .eml cannot be parsed: {exc}", "eml")]
    assert isinstance(msg, EmailMessage)
    findings: list[Finding] = []
    for name in ("Subject", "From", "Date", "Message-ID"):
        if not str(msg.get(name, "")).strip():
            findings.append(_finding("header-missing", f"{name} header missing", f"header: {name}"))
    for found in _placeholders(subject):
        findings.append(
            _finding(
                "placeholder", f"unfinished placeholder {found!r}", "header: Subject", text=subject
            )
        )
    unsub = str(msg.get("List-Unsubscribe", ""))
    if not unsub:
        findings.append(
            _finding(
                "list-unsubscribe", "List-Unsubscribe header missing", "header: List-Unsubscribe"
            )
        )
    else:
        targets = re.findall(r"<([^>]*)>", unsub)
        if not any(t.startswith("https://") for t in targets):
            findings.append(
                _finding(
                    "list-unsubscribe",
                    "List-Unsubscribe has no <https://...> link",
                    "header: List-Unsubscribe",
                    text=unsub,
                )
            )
        if not any(t.startswith("mailto:") for t in targets):
            findings.append(
                _finding(
                    "list-unsubscribe",
                    "List-Unsubscribe has no <mailto:...> address",
                    "header: List-Unsubscribe",
                    "warning",
                    unsub,
                )
            )
    post = str(msg.get("List-Unsubscribe-Post", ""))
    if post.strip() != "List-Unsubscribe=One-Click":
        findings.append(
            _finding(
                "list-unsubscribe-post",
                "List-Unsubscribe-Post must be 'List-Unsubscribe=One-Click'",
                "header: List-Unsubscribe-Post",
                text=post,
            )
        )
    if msg.get_content_type() != "multipart/alternative":
        findings.append(
            _finding(
                "mime",
                f"message is {msg.get_content_type()}, not multipart/alternative",
                "header: Content-Type",
            )
        )
    types = [p.get_content_type() for p in msg.walk() if not p.is_multipart()]
    for wanted in ("text/plain", "text/html"):
        if wanted not in types:
            findings.append(_finding("mime", f"no {wanted} part in the message", "eml"))
    return findings
