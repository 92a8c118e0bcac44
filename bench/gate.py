"""Benchmark: does the gate (house style + fact check) pass good stories and stop bad ones?

In: desk-written house-style stories (``../shared/eval/desk.jsonl``, read in place) joined with
their articles (``dev.jsonl``). Out: the false-rejection rate on the good stories (any error
finding), warnings per good story, and for corrupted copies of each good story, one corruption
type at a time, the share caught (any error) and the share caught by the rule meant for it.
A table, then one JSON object as the last line.

Corruptions are made here from each good story with a fixed seed, so a run is repeatable:
headline word salad, cut off or without a verb; a dek or nut graf that repeats a bullet; two
bullets alike; a part opening on an orphan pronoun or conjunction; an unbalanced quotation
mark; a capital after "Per X, "; a photo caption run into the text; a source quotation without
its quote marks or speaker; an invented number, name or quotation.

Usage: ``python bench/gate.py [EVAL_DIR]`` (default ``../shared/eval`` beside the repository).
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.models import Article, SourceRef, StorySummary
from pipeline.summarize import check_story, load_house_style
from pipeline.summarize._source import read_source
from pipeline.summarize._text import QUOTED, split_sentences, strip_attribution
from pipeline.words import word_set

ROOT = Path(__file__).resolve().parents[1]
Story = dict[str, object]
Corruptor = Callable[[Story, Article, random.Random, int], Story | None]

_FUNCTION = word_set(
    """
    a an the of to in on at for by with from and or but nor as is are was were be been
    has have had will would can could may might must shall should do does did not its
    his her their it he she they this that these those who which per into over after
    than so
    """
)
_CUT_WORDS = [
    "a",
    "an",
    "the",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "by",
    "with",
    "from",
    "and",
    "or",
    "but",
    "as",
    "after",
    "over",
    "into",
]
_INVENTED_NAMES = [
    "Margaret Oduya",
    "Peter Vandenberg",
    "Lucia Farnsworth",
    "Tomasz Ekwueme",
    "Harriet Quillon",
    "Dmitri Okonkwo",
    "Celia Brannagh",
    "Rafael Thornquist",
]
_INVENTED_QUOTES = [
    "a disaster for everyone involved",
    "the worst decision in a generation",
    "nothing short of a miracle",
    "we will fight this all the way",
    "a turning point for the whole industry",
]
_CAPTIONS = [
    "Pictured: {name} outside the building last week",
    "Remanded: {name} appeared in court on Monday",
    "Happier times: {name} with friends in an undated photo",
    "{name} (pictured) was not available for comment",
]


def _words(text: str) -> list[str]:
    return text.split()


def _title(words: list[str]) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in words)


def _names_in(story: Story) -> list[str]:
    text = " ".join([str(story["dek"]), *story["bullets"]])  # type: ignore[list-item]
    runs = re.findall(r"(?<=[a-z,] )((?:[A-Z][a-z]+ )+[A-Z][a-z]+)", text)
    return runs or ["the company"]


def _bullets(story: Story) -> list[str]:
    return list(story["bullets"])  # type: ignore[call-overload]


def _body(bullet: str) -> str:
    rest = strip_attribution(bullet)[1]
    return rest[:1].upper() + rest[1:]


def _nudge(text: str, rng: random.Random) -> str:
    """A near-duplicate: two words dropped and one changed, the rest as written."""
    words = _words(text)
    if len(words) < 10:
        return text
    for _ in range(2):
        del words[rng.randrange(1, len(words) - 1)]
    k = rng.randrange(1, len(words) - 1)
    words[k] = {"the": "a", "a": "the", "said": "says", "has": "had"}.get(words[k], words[k])
    return " ".join(words)


def salad(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    words = [w.strip('.,:;!?"“”') for w in _words(str(story["headline"]))]
    if v % 2 == 0:  # the failure seen in the wild: content words strung together
        pool = [w for w in words + _words(str(story["dek"])) if w.lower() not in _FUNCTION]
        pool = [w.strip('.,:;!?"“”') for w in dict.fromkeys(pool) if w.strip('.,:;!?"“”')]
        rng.shuffle(pool)
        headline = _title(pool[: rng.randint(8, 11)])
    else:  # every word kept as written, order lost
        words = [w for w in words if w]
        for _ in range(10):
            rng.shuffle(words)
            if words[0].lower() not in _FUNCTION:
                break
        headline = " ".join(words)
    return {**story, "headline": headline}


def cut_off(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    words = _words(str(story["headline"]))
    spots = [
        i
        for i, w in enumerate(words[:-1])
        if i >= 2
        and (
            w.lower().strip(".,") in _CUT_WORDS
            or (re.fullmatch(r"[\d,.$£%]+", w) is not None and not w.endswith("%"))
        )
    ]
    if not spots:
        return None
    i = spots[v % len(spots)]
    return {**story, "headline": " ".join(words[: i + 1]).rstrip(".,:;")}


def no_verb(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    headline = str(story["headline"])
    if v % 2 == 0:  # a label headline: a name from the story, then the section header
        return {**story, "headline": f"{_names_in(story)[0]}: {story['section']}"}
    from pipeline.summarize._grammar import tag

    kept = [t.text for t in tag(headline) if not (t.tag.startswith("VB") or t.tag == "MD")]
    text = " ".join(kept).replace(" 's", "'s").replace(" n't", "").replace(" .", ".")
    return {**story, "headline": text}


def dek_repeats(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    bullet = rng.choice(_bullets(story))
    dek = _body(bullet)
    return {**story, "dek": dek if v % 2 == 0 else _nudge(dek, rng)}


def nut_repeats(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    bullet = _body(rng.choice(_bullets(story)))
    if v % 2:
        bullet = _nudge(bullet, rng)
    rest = split_sentences(str(story["nut_graf"]))[1:]
    outlet = article.source
    lead = f"According to {outlet}, {bullet[:1].lower()}{bullet[1:]}"
    return {**story, "nut_graf": " ".join([lead, *rest])}


def twin_bullets(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    bullets = _bullets(story)
    j, k = rng.sample(range(len(bullets)), 2)
    bullets[k] = bullets[j] if v % 2 == 0 else _nudge(bullets[j], rng)
    return {**story, "bullets": bullets}


_ORPHANS = ["He", "She", "They", "It", "But", "And", "However,", "This"]


def orphan(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    part = ["dek", "hook", "bullets", "kicker", "context", "nut_graf"][v % 6]
    word = _ORPHANS[v % len(_ORPHANS)]
    out = dict(story)

    def reopen(text: str) -> str:
        prefix, rest = strip_attribution(text)
        if word in ("He", "She", "They", "It", "This"):
            # the subject (a capitalised run or the first two words) becomes the pronoun
            m = re.match(r"(?:[A-Z][\w'’.-]*\s)+|\S+\s\S+\s", rest)
            rest = rest[m.end() :] if m else rest
            new = f"{word} {rest}"
        else:
            new = f"{word} {rest[:1].lower()}{rest[1:]}"
        return new if not prefix else prefix + new[:1].lower() + new[1:]

    if part == "bullets":
        bullets = _bullets(story)
        k = rng.randrange(len(bullets))
        bullets[k] = reopen(strip_attribution(bullets[k])[1])
        out["bullets"] = bullets
    else:
        out[part] = reopen(str(story[part]))
    return out


def quotes(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    parts = ["dek", "hook", "nut_graf", "context", "kicker"]
    candidates = [(p, str(story[p])) for p in parts] + [
        (f"b{i}", b) for i, b in enumerate(_bullets(story))
    ]
    quoted = [(p, t, m) for p, t in candidates for m in QUOTED.finditer(t) if len(m.group(0)) > 4]
    if v % 2 == 0 and quoted:  # drop the closing mark of a real quotation
        p, t, m = quoted[rng.randrange(len(quoted))]
        new = t[: m.end() - 1] + t[m.end() :]
    else:  # open a quotation that never closes, single or double
        p, t = candidates[rng.randrange(len(candidates))]
        words = t.split()
        k = rng.randrange(2, max(3, len(words) - 2))
        words[k] = ("‘" if v % 4 == 1 else "'" if v % 4 == 3 else "“") + words[k]
        new = " ".join(words)
    if p.startswith("b"):
        bullets = _bullets(story)
        bullets[int(p[1:])] = new
        return {**story, "bullets": bullets}
    return {**story, p: new}


def capital(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    bullets = _bullets(story)
    names = read_source(article.title, article.text).names
    order = list(range(len(bullets)))
    rng.shuffle(order)
    outlet = f"the {article.source}" if article.source == "Daily Mail" else article.source
    for k in order:
        prefix, rest = strip_attribution(bullets[k])
        first = rest.split(" ", 1)[0]
        if prefix and rest[:1].islower():
            bullets[k] = prefix + rest[:1].upper() + rest[1:]
            return {**story, "bullets": bullets}
        if not prefix and first.lower() in _FUNCTION | {"researchers", "police", "officials"}:
            bullets[k] = f"Per {outlet}, {rest}"
            return {**story, "bullets": bullets}
        if not prefix and first not in names and first[:1].isupper() and v % 2:
            continue
    return None


def caption(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    read = read_source(article.title, article.text)
    labelled = [c for c in read.captions if re.match(r"[A-Z][\w'’ -]{1,30}: [A-Z]", c)]
    name = rng.choice(_names_in(story))
    cap = (
        labelled[v % len(labelled)]
        if labelled and v % 2 == 0
        else _CAPTIONS[v % len(_CAPTIONS)].format(name=name)
    )
    bullets = _bullets(story)
    k = rng.randrange(len(bullets))
    if v % 3 == 0:  # run into the next sentence with no full stop, as pages flatten them
        target = str(story["context"])
        return {**story, "context": f"{cap.rstrip('.')} {target}"}
    bullets[k] = f"{bullets[k]} {cap.rstrip('.')}."
    return {**story, "bullets": bullets}


def unmarked(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    read = read_source(article.title, article.text)
    pool = [q.strip("\"“”‘’'").strip(" ,.") for q in read.quotes if 8 <= len(q.split()) <= 40]
    if not pool:
        return None
    words = rng.choice(pool)
    sentence = words[:1].upper() + words[1:] + "."
    if v % 2 == 0:
        return {**story, "hook": sentence}
    return {**story, "context": f"{story['context']} {sentence}"}


def number(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    parts = ["dek", "nut_graf", "context", "kicker"]
    bullets = _bullets(story)
    texts = [(p, str(story[p])) for p in parts] + [(f"b{i}", b) for i, b in enumerate(bullets)]
    with_num = [(p, t, m) for p, t in texts for m in re.finditer(r"\d[\d,.]*", t)]
    if with_num and v % 3:
        p, t, m = with_num[rng.randrange(len(with_num))]
        digits = m.group(0)
        value = str(int(digits[0]) % 9 + 1) + digits[1:] if digits[0] != "0" else "7" + digits
        new = t[: m.start()] + value + t[m.end() :]
    else:
        p, t = texts[4 + rng.randrange(len(bullets))]
        new = t.rstrip(".") + f", more than {rng.choice([47, 63, 180, 2400])} of them."
    if p.startswith("b"):
        bullets[int(p[1:])] = new
        return {**story, "bullets": bullets}
    return {**story, p: new}


def name(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    invented = _INVENTED_NAMES[v % len(_INVENTED_NAMES)]
    bullets = _bullets(story)
    k = rng.randrange(len(bullets))
    names = [n for n in _names_in(story) if n in bullets[k]]
    if names and v % 2:
        bullets[k] = bullets[k].replace(names[0], invented, 1)
    else:
        bullets[k] = bullets[k].rstrip(".") + f", analyst {invented} said."
    return {**story, "bullets": bullets}


def invented_quote(story: Story, article: Article, rng: random.Random, v: int) -> Story | None:
    bullets = _bullets(story)
    k = rng.randrange(len(bullets))
    quoted = list(QUOTED.finditer(bullets[k]))
    if quoted and v % 2:
        m = quoted[0]
        inner = m.group(0)[1:-1].split()
        if len(inner) >= 2:
            inner[len(inner) // 2] = "absolutely"
            bullets[k] = bullets[k][: m.start() + 1] + " ".join(inner) + bullets[k][m.end() - 1 :]
            return {**story, "bullets": bullets}
    q = _INVENTED_QUOTES[v % len(_INVENTED_QUOTES)]
    bullets[k] = bullets[k].rstrip(".") + f', calling it "{q}."'
    return {**story, "bullets": bullets}


@dataclass(frozen=True)
class Corruption:
    name: str
    make: Corruptor
    rules: frozenset[str]


CORRUPTIONS = (
    Corruption(
        "headline word salad",
        salad,
        frozenset({"headline-not-word-salad", "headline-has-verb", "headline-not-cut-off"}),
    ),
    Corruption("headline cut off", cut_off, frozenset({"headline-not-cut-off"})),
    Corruption("headline without a verb", no_verb, frozenset({"headline-has-verb"})),
    Corruption("dek repeats a bullet", dek_repeats, frozenset({"no-repeat"})),
    Corruption("nut graf repeats a bullet", nut_repeats, frozenset({"no-repeat"})),
    Corruption("duplicate bullets", twin_bullets, frozenset({"no-repeat"})),
    Corruption("orphan pronoun or conjunction", orphan, frozenset({"no-orphan-opening"})),
    Corruption("unbalanced quotes", quotes, frozenset({"quotes-balanced"})),
    Corruption("capital after attribution", capital, frozenset({"attribution-lower-case"})),
    Corruption("photo caption", caption, frozenset({"no-photo-caption"})),
    Corruption("quotation as our words", unmarked, frozenset({"fact-quote-unmarked"})),
    Corruption("invented number", number, frozenset({"fact-number"})),
    Corruption("invented name", name, frozenset({"fact-name"})),
    Corruption("invented quotation", invented_quote, frozenset({"fact-quote"})),
)


def _summary(data: Story, article: Article) -> StorySummary:
    return StorySummary(
        id=article.id,
        headline=str(data["headline"]),
        dek=str(data["dek"]),
        hook=str(data["hook"]),
        nut_graf=str(data["nut_graf"]),
        section=str(data["section"]),
        context=str(data["context"]),
        lead_in=str(data["lead_in"]),
        bullets=tuple(_bullets(data)),
        kicker_label=str(data["kicker_label"]),
        kicker=str(data["kicker"]),
        sources=(SourceRef(article.source),) if article.source else (),
    )


def load(eval_dir: Path) -> list[tuple[Story, Article]]:
    articles = {}
    for line in (eval_dir / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            articles[r["id"]] = Article(
                id=r["id"], title=r.get("title", ""), text=r["text"], source=r.get("source", "")
            )
    pairs = []
    for line in (eval_dir / "desk.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            pairs.append((r["story"], articles[r["id"]]))
    return pairs


def main(eval_dir: Path) -> dict[str, object]:
    style = load_house_style()
    pairs = load(eval_dir)
    started = time.perf_counter()
    rejected: list[str] = []
    warnings = 0
    for data, article in pairs:
        checked = check_story(_summary(data, article), article, style)
        if checked.errors:
            rejected.append(f"{article.id}: {checked.errors[0].message}")
        warnings += sum(f.severity == "warning" for f in (*checked.style, *checked.facts))
    catch: dict[str, dict[str, float]] = {}
    missed: dict[str, list[str]] = {}
    for c in CORRUPTIONS:
        cases = caught = by_rule = 0
        for n, (data, article) in enumerate(pairs):
            rng = random.Random(f"{article.id}|{c.name}")
            bad = c.make(dict(data), article, rng, n)
            if bad is None or bad == data:
                continue
            cases += 1
            checked = check_story(_summary(bad, article), article, style)
            errors = checked.errors
            caught += bool(errors)
            hit = any(f.rule in c.rules for f in errors)
            by_rule += hit
            if not hit:
                missed.setdefault(c.name, []).append(_diff(data, bad))
        catch[c.name] = {
            "cases": cases,
            "caught": round(100 * caught / max(cases, 1), 1),
            "caught_by_rule": round(100 * by_rule / max(cases, 1), 1),
        }
    seconds = time.perf_counter() - started
    n = max(len(pairs), 1)
    figures: dict[str, object] = {
        "stories": len(pairs),
        "false_rejection_rate": round(100 * len(rejected) / n, 1),
        "warnings_per_story": round(warnings / n, 2),
        "min_catch": min(v["caught"] for v in catch.values()),
        "min_catch_by_rule": min(v["caught_by_rule"] for v in catch.values()),
        "catch": catch,
        "seconds": round(seconds, 2),
    }
    print(
        f"good stories: {len(pairs)}, rejected {len(rejected)}, warnings/story "
        f"{figures['warnings_per_story']}"
    )
    for line in rejected:
        print(f"  rejected {line}")
    print(f"{'corruption':<32} {'cases':>5} {'caught%':>8} {'by rule%':>9}")
    for name, v in catch.items():
        print(f"{name:<32} {v['cases']:>5} {v['caught']:>8} {v['caught_by_rule']:>9}")
        for example in missed.get(name, [])[:3]:
            print(f"    missed: {example}")
    print(json.dumps(figures))
    return figures


def _diff(good: Story, bad: Story) -> str:
    for key in good:
        if good[key] != bad[key]:
            if key == "bullets":
                for a, b in zip(_bullets(good), _bullets(bad), strict=True):
                    if a != b:
                        return f"bullets: {b[:160]!r}"
            return f"{key}: {str(bad[key])[:160]!r}"
    return "(unchanged)"


if __name__ == "__main__":
    default = ROOT.parent / "shared" / "eval"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
