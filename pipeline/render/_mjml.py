"""MJML side of render: Jinja2 templates in, checked MJML, then finished HTML out.

In: the templates folder and a context dict. Out: minified HTML with the
``mj-style inline="inline"`` CSS inlined by css-inline (mjml-python ignores it).

mjml-python copies unknown tags and attributes through silently and accepts a
text component in the wrong parent, so both the template sources (name and
line) and the generated MJML (line) are checked against the components and
attributes it supports before it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import minify_html
import mjml

from ..errors import RenderError

MAIN_TEMPLATE = "issue.mjml.j2"
TEXT_TEMPLATE = "issue.txt.j2"

_PAD = frozenset({"padding", "padding-top", "padding-bottom", "padding-left", "padding-right"})
_BORDER = frozenset({"border", "border-top", "border-bottom", "border-left", "border-right"})
_BG = frozenset(
    {
        "background-color",
        "background-url",
        "background-repeat",
        "background-size",
        "background-position",
        "background-position-x",
        "background-position-y",
    }
)
_FONT = frozenset(
    {
        "color",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "line-height",
        "letter-spacing",
        "text-decoration",
        "text-transform",
    }
)
_BOX = _PAD | {"css-class", "mj-class", "container-background-color"}

# Attributes per component, as MJML 4 (which MRML follows) documents them.
ATTRIBUTES: dict[str, frozenset[str]] = {
    "mjml": frozenset({"lang", "dir", "owa"}),
    "mj-head": frozenset(),
    "mj-body": frozenset({"width", "background-color", "css-class", "mj-class"}),
    "mj-attributes": frozenset(),
    "mj-all": frozenset(),  # takes any attribute, checked by the component it reaches
    "mj-class": frozenset(),
    "mj-breakpoint": frozenset({"width"}),
    "mj-font": frozenset({"name", "href"}),
    "mj-preview": frozenset(),
    "mj-title": frozenset(),
    "mj-style": frozenset({"inline"}),
    "mj-raw": frozenset({"position", "css-class", "mj-class"}),
    "mj-include": frozenset({"path", "type", "css-inline"}),
    "mj-wrapper": _PAD
    | _BORDER
    | _BG
    | {"border-radius", "css-class", "mj-class", "full-width", "text-align", "gap"},
    "mj-section": _PAD
    | _BORDER
    | _BG
    | {"border-radius", "css-class", "mj-class", "full-width", "text-align", "direction"},
    "mj-group": frozenset(
        {"width", "vertical-align", "background-color", "direction", "css-class", "mj-class"}
    ),
    "mj-column": _PAD
    | _BORDER
    | {
        "background-color",
        "inner-background-color",
        "border-radius",
        "inner-border",
        "inner-border-radius",
        "width",
        "vertical-align",
        "direction",
        "css-class",
        "mj-class",
    },
    "mj-hero": _PAD
    | _BG
    | {
        "mode",
        "height",
        "width",
        "vertical-align",
        "border-radius",
        "inner-background-color",
        "inner-padding",
        "css-class",
        "mj-class",
    },
    "mj-text": _BOX | _FONT | {"align", "height"},
    "mj-image": _BOX
    | _BORDER
    | {
        "alt",
        "href",
        "name",
        "src",
        "srcset",
        "sizes",
        "title",
        "rel",
        "align",
        "border-radius",
        "fluid-on-mobile",
        "target",
        "width",
        "height",
        "usemap",
        "font-size",
    },
    "mj-button": _BOX
    | _FONT
    | _BORDER
    | {
        "background-color",
        "border-radius",
        "height",
        "href",
        "inner-padding",
        "rel",
        "target",
        "title",
        "text-align",
        "vertical-align",
        "width",
        "align",
        "name",
    },
    "mj-divider": _BOX | {"border-color", "border-style", "border-width", "width", "align"},
    "mj-spacer": _BOX | {"height"},
    "mj-table": _BOX
    | {
        "align",
        "border",
        "cellpadding",
        "cellspacing",
        "color",
        "font-family",
        "font-size",
        "line-height",
        "role",
        "table-layout",
        "width",
    },
    "mj-social": _BOX
    | _FONT
    | {
        "align",
        "border-radius",
        "icon-height",
        "icon-size",
        "inner-padding",
        "mode",
        "icon-padding",
        "text-padding",
    },
    "mj-social-element": _PAD
    | _FONT
    | {
        "align",
        "alt",
        "background-color",
        "border-radius",
        "href",
        "icon-height",
        "icon-size",
        "icon-padding",
        "name",
        "rel",
        "sizes",
        "src",
        "srcset",
        "target",
        "text-padding",
        "title",
        "vertical-align",
        "css-class",
        "mj-class",
    },
    "mj-navbar": frozenset(
        {
            "align",
            "base-url",
            "hamburger",
            "ico-align",
            "ico-close",
            "ico-color",
            "ico-font-size",
            "ico-open",
            "css-class",
            "mj-class",
        }
    ),
    "mj-navbar-link": _PAD
    | _FONT
    | {"href", "name", "target", "rel", "title", "css-class", "mj-class"},
}

# Which components may sit directly inside which.
_CONTENT = frozenset(
    {
        "mj-text",
        "mj-image",
        "mj-button",
        "mj-divider",
        "mj-spacer",
        "mj-table",
        "mj-social",
        "mj-navbar",
        "mj-raw",
        "mj-include",
    }
)
CHILDREN: dict[str, frozenset[str]] = {
    "#root": frozenset({"mjml"}),
    "mjml": frozenset({"mj-head", "mj-body"}),
    "mj-head": frozenset(
        {
            "mj-attributes",
            "mj-breakpoint",
            "mj-font",
            "mj-preview",
            "mj-style",
            "mj-title",
            "mj-raw",
            "mj-include",
        }
    ),
    "mj-attributes": frozenset(ATTRIBUTES) - {"mjml", "mj-head", "mj-attributes"},
    "mj-body": frozenset({"mj-section", "mj-wrapper", "mj-hero", "mj-raw", "mj-include"}),
    "mj-wrapper": frozenset({"mj-section", "mj-hero", "mj-raw", "mj-include"}),
    "mj-section": frozenset({"mj-column", "mj-group", "mj-raw", "mj-include"}),
    "mj-group": frozenset({"mj-column", "mj-raw"}),
    "mj-column": _CONTENT,
    "mj-hero": _CONTENT,
    "mj-social": frozenset({"mj-social-element", "mj-raw"}),
    "mj-navbar": frozenset({"mj-navbar-link", "mj-raw"}),
}

# Components whose content is HTML or text, not MJML.
_ENDING = frozenset(
    {
        "mj-text",
        "mj-button",
        "mj-raw",
        "mj-table",
        "mj-style",
        "mj-title",
        "mj-preview",
        "mj-navbar-link",
        "mj-social-element",
    }
)

# Only MJML tags are tokens: the HTML inside text components needs no look, and
# skipping it keeps the check of a 20-story issue well under a millisecond.
_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<name>mj-[\w-]*|mjml)(?=[\s/>])"
    r"(?P<attrs>(?:\s+[^\s=>/]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*(?P<self>/?)>",
    re.I,
)
_ATTR = re.compile(r"([^\s=>/]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def _blank(match: re.Match[str]) -> str:
    # keep newlines so line numbers stay true; other characters become spaces
    return re.sub(r"[^\n]", " ", match.group(0))


def validate_mjml(source: str, *, template: str, fragment: bool = False) -> None:
    """Check tags, attributes and nesting of MJML; raise :class:`RenderError` at the line.

    ``fragment`` is for partial templates: their top-level components may have
    any parent, since the including template decides it.
    """
    stack: list[str] = []
    line = 1
    pos = 0
    for m in _TOKEN.finditer(source):
        line += source.count("\n", pos, m.start())
        pos = m.start()
        name = m.group("name").lower()
        inside = stack[-1] if stack else "#root"
        if inside in _ENDING:
            # HTML content of a text component: only its own closing tag matters
            if m.group("close") and name == inside:
                stack.pop()
            else:
                raise RenderError(
                    f"<{name}> inside <{inside}> is not allowed", template=template, line=line
                )
            continue
        if m.group("close"):
            if not stack or stack[-1] != name:
                raise RenderError(f"unexpected closing tag </{name}>", template=template, line=line)
            stack.pop()
            continue
        if name not in ATTRIBUTES:
            raise RenderError(f"unknown MJML component <{name}>", template=template, line=line)
        parents_free = fragment and not stack
        if not parents_free and name not in CHILDREN.get(inside, frozenset()):
            raise RenderError(
                f"<{name}> may not sit inside <{inside}>", template=template, line=line
            )
        allowed = ATTRIBUTES[name]
        for am in _ATTR.finditer(m.group("attrs")):
            attr, value = am.group(1).lower(), am.group(2)
            if value is not None and value[0] not in "\"'":
                raise RenderError(
                    f"<{name}> attribute {attr!r} must be quoted", template=template, line=line
                )
            if name in ("mj-all", "mj-class"):
                continue
            if attr not in allowed:
                raise RenderError(
                    f"<{name}> does not support attribute {attr!r}", template=template, line=line
                )
        if not m.group("self"):
            stack.append(name)
    if stack and not fragment:
        raise RenderError(f"<{stack[-1]}> is never closed", template=template, line=line)


class _CheckedLoader(jinja2.FileSystemLoader):
    """A file loader that validates each MJML template's source once, on load."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if template.endswith(".mjml.j2"):
            validate_mjml(
                _JINJA.sub(_blank, source), template=template, fragment=template != MAIN_TEMPLATE
            )
        return source, filename, uptodate


@lru_cache(maxsize=8)
def environment(templates: Path, html: bool) -> jinja2.Environment:
    """A Jinja2 environment for the templates folder: strict undefined, escaping for MJML."""
    env = jinja2.Environment(
        loader=_CheckedLoader(str(templates)),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _template_line(exc: BaseException) -> tuple[str | None, int | None]:
    tb = exc.__traceback__
    name: str | None = None
    line: int | None = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            name, line = Path(filename).name, tb.tb_lineno
        tb = tb.tb_next
    return name, line


def render_template(templates: Path, name: str, context: Mapping[str, Any], *, html: bool) -> str:
    """Render one template; template and context errors become :class:`RenderError`."""
    return fill_template(environment(templates, html), name, context, where=str(templates))


def fill_template(
    env: jinja2.Environment, name: str, context: Mapping[str, Any], *, where: str
) -> str:
    """Render template ``name`` of ``env`` (whose templates live in ``where``); template and
    context errors become :class:`RenderError` naming the template and line."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found in {where}", template=str(exc.name)) from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            exc.message or "syntax error", template=exc.name, line=exc.lineno
        ) from None
    except jinja2.UndefinedError as exc:
        template, line = _template_line(exc)
        raise RenderError(str(exc.message), template=template or name, line=line) from None


_INLINE_BLOCK = re.compile(r"<style type=\"text/css\">\s*/\* inline \*/(.*?)</style>", re.S)


@lru_cache(maxsize=8)
def _inliner(css: str) -> css_inline.CSSInliner:
    return css_inline.CSSInliner(
        inline_style_tags=False,
        keep_style_tags=True,
        load_remote_stylesheets=False,
        minify_css=True,
        extra_css=css,
    )


def mjml_to_html(source: str, *, template: str = MAIN_TEMPLATE, minify: bool = True) -> str:
    """Validate generated MJML, convert it, inline the marked CSS and minify."""
    validate_mjml(source, template=f"{template} (generated MJML)")
    try:
        html: str = mjml.mjml2html(source, disable_comments=True, fonts={})
    except ValueError as exc:
        raise RenderError(f"mjml-python: {exc}", template=f"{template} (generated MJML)") from None
    # mjml-python leaves mj-style inline="inline" as a <style> block: apply it ourselves
    blocks = _INLINE_BLOCK.findall(html)
    if blocks:
        html = _INLINE_BLOCK.sub("", html)
        html = _inliner("\n".join(blocks)).inline(html)
    if minify:
        html = minify_html.minify(
            html,
            keep_closing_tags=True,
            keep_comments=True,  # mso conditionals; plain comments are already gone
            keep_html_and_head_opening_tags=True,
            minify_css=False,  # its media-range syntax breaks older mail clients
        )
    return html
