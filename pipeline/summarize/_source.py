"""An article's text, read once: the sentences a story may use and the furniture it may not.

In: an article's title and plain text (sanitized, untrusted). Out: a :class:`Source` with the
text's sentences in order (dateline, bylines, page furniture and photo captions removed), the
captions it found, its quotations and the capitalised words it uses as names. The offline
engine writes only from ``sentences``; the gate uses ``captions`` and ``quotes`` to tell a
caption or a quotation presented as our own words.

Captions come in three shapes in real news text: a label and a colon ("Bad memories: The
reason ..."), a caption run into the next sentence without a full stop (so any piece with no
closing punctuation is furniture), and a one-sentence paragraph describing a photo in the
present tense ("Isaac Arellano holds a candle ... Tuesday in Price, Utah.").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..words import STOPWORDS, word_set
from ._grammar import FINITE_TAGS, FUNCTION_TAGS, is_common_word, is_name_like, lexical_tag, tag
from ._prose import fused_label, opens_quotation
from ._speech import CAPTION_SPEECH
from ._text import QUOTED, clean_text, split_sentences

_MAX_CHARS = 200_000  # an article longer than this is read up to here
_BEFORE_DATELINE = 3  # paragraphs of furniture that may come before a story's dateline
# ...written in full there: a place in capitals, the agency, a dash ("MIAMI, Florida (CNN) --")
_LATER_DATELINE = re.compile(
    r"[A-Z][A-Z .'-]{1,40}(?:, [A-Z][A-Za-z .'-]{1,30})? \((?P<agency>[A-Z][A-Za-z.&' ]{1,40})\)"
    r" ?(?:--|—|–) ?"
)

# Page furniture, not news (matched on the lower-cased sentence).
_JUNK = re.compile(
    r"»|click here|scroll down|e-mail to a friend|all rights reserved|contributed to this report"
    r"|read more|read:|watch:|published:|updated:|follow @|copyright|subscribe|sign up"
    r"|editor's note|photo:|visit site|https?://|www\.|^by \S+(?: \S+){0,3}$|\bcnn's .{0,40}"
    r"|click on|photos? above|see photos|watch the video|in the video above|gallery"
    r"|(?:video|photos?) (?:can be seen|is|are) (?:at the top|above|below)|"
    r"contributed\b|^(?:new:|breaking:)"
)
# Asides that point at a photo: removed from a sentence that is otherwise news.
_ASIDE = re.compile(
    r"\s*\((?:pictured|pictured [^)]{0,40}|left|right|centre|center|above|below|inset|"
    r"top|bottom|file|file photo|file picture|stock image|stock photo|main)\)"
    r"|,\s(?:pictured|left|right|centre|center|above|below)(?: [^,]{0,30})?(?=,)",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^[\"“‘']?(?P<label>[A-Z][\w'’-]*(?: [\w'’&-]+){0,3}):\s+\S")
_FUSED = re.compile(r" (?<=[a-z0-9%)'’] )(?=[A-Z][a-z]+(?:['’][a-z]+)? [a-z0-9])")
# Words that open a sentence even straight after a name (a name never runs on into them).
_STRONG_OPENERS = frozenset({"The", "He", "She", "They", "His", "Her", "Their", "This", "If"})
_TERMINAL = (".", "!", "?", '"', "”", "’", "'", ")")
# Verbs of a photo caption in the present tense ("X pauses Tuesday during ...").
_PHOTO_VERBS = word_set(
    """
    pauses holds stands sits looks waves speaks walks smiles poses arrives leaves
    gestures listens talks addresses attends greets hugs shakes watches reacts
    celebrates prays sings cries rides marches gathers carries displays points kneels
    wipes embraces rests lies
    """
)
# What a sentence may open on, by tag: a capitalised word of another kind after a lower-case
# word is more likely part of a name ("the record-breaking Jump jockey").
_OPENER_TAGS = frozenset(
    {"DT", "IN", "PRP", "PRP$", "CC", "RB", "VBG", "VBN", "WRB", "EX", "TO", "MD", "WP"}
)
_NAME_WORD = re.compile(r"(?<=[a-z,;] )([A-Z][\w'’-]*)")


@dataclass(frozen=True)
class Source:
    """An article read once: what a story may draw on, and what it must not."""

    title: str
    text: str
    agency: str
    sentences: tuple[str, ...]
    paragraph_of: tuple[int, ...]  # the paragraph each sentence came from
    captions: tuple[str, ...]
    quotes: tuple[str, ...]
    names: frozenset[str]


# A caption run into a quotation, with no full stop between: "... pledge today Scotland's
# Deputy First Minister John Swinney said: 'While ..." and "... manager on Friday 'I'd be over
# the moon,' said Locke". The cut falls before the speaker or the opening mark.
_FUSED_QUOTE = re.compile(
    r"(?<=[a-z0-9]) (?=(?:[A-Z][\w'’.-]*\s){1,7}(?:said|says|added|adds):\s?[‘“\"']"
    r"|[‘“\"][A-Z][^‘“\"]{15,300}[,.!?][’”\"]\s(?:said|says|added|adds)\b)"
)
_FUSED_QUOTE_MIN = 6  # words before the cut: a caption, not a dateline or a speaker's title
_FUSED_QUOTE_LOOK = 200  # characters looked back for those words (linear on any input)
_WORD_LOOK = 100  # characters read for the word either side of a gap; longer is not a word


def _split_fused(sentence: str) -> list[str]:
    """A sentence with a caption run into it, cut where a full stop is missing."""
    pieces: list[str] = []
    start = 0
    for m in _FUSED_QUOTE.finditer(sentence):
        lead = sentence[max(start, m.start() - _FUSED_QUOTE_LOOK) : m.start()]
        if len(lead.split()) >= _FUSED_QUOTE_MIN:
            pieces.append(sentence[start : m.start()].strip())
            start = m.end()
    for m in _FUSED.finditer(sentence, start):
        # the words either side of the gap, read from a bounded window: linear on any input
        before = sentence[max(start, m.start() - _WORD_LOOK) : m.start()].rsplit(None, 1)
        # "It’s" is read as "It"
        word = sentence[m.end() : m.end() + _WORD_LOOK].split(" ", 1)[0].split("’")[0]
        word = word.split("'")[0]
        if not before or not word:
            continue
        prev = before[-1]
        if prev.lower() in ("mr", "mrs", "ms", "dr", "st"):
            continue  # "Ms Kunis": a title runs on into its name
        if prev[:1].isupper() and word not in _STRONG_OPENERS:
            continue  # "Grammys On The Hill": a name runs on; "Sheffield The plant" does not
        if is_name_like(word) or not is_common_word(word):
            continue
        if lexical_tag(prev) in FUNCTION_TAGS or lexical_tag(word.lower()) not in _OPENER_TAGS:
            continue  # "the Internet", "record-breaking Jump jockey": not a new sentence
        pieces.append(sentence[start : m.start()].strip())
        start = m.end()
    pieces.append(sentence[start:].strip())
    return [p for p in pieces if p]


_OPENING_MARKS = "\"“‘'"
_CLOSING_MARKS = "\"”’'"
_QUOTE_RUN = 3  # sentences a quotation may run on without marks before one shows it again


def _inside_quotations(sentences: Sequence[str]) -> set[int]:
    """The sentences (by index) inside a quotation an earlier one opened and did not close.

    British news runs a quotation over sentences with no marks and opens each new paragraph
    of it with a mark ("He said: 'It is sad. He was the guy. 'The whole situation ...").
    Only a run that a mark soon shows to be quoted counts (the next opening mark, or a closing
    one at a sentence's end, within a few sentences); a mark read wrongly marks nothing more.
    """
    inside: set[int] = set()
    for i, sentence in enumerate(sentences):
        if not opens_quotation(sentence):
            continue
        for j in range(i + 1, min(i + 1 + _QUOTE_RUN, len(sentences))):
            nxt = sentences[j]
            if nxt[:1] in _OPENING_MARKS:
                inside.update(range(i + 1, j))
                break
            if nxt.rstrip(".!?")[-1:] in _CLOSING_MARKS or nxt.rstrip()[-1:] in _CLOSING_MARKS:
                inside.update(range(i + 1, j + 1))
                break
    return inside


def _is_photo_caption(sentence: str, alone: bool) -> bool:
    """A one-sentence paragraph that describes a photo in the present tense."""
    if not alone or QUOTED.search(sentence) or CAPTION_SPEECH.search(sentence):
        return False
    words = sentence.split()
    if len(words) > 40:
        return False
    return any(w.lower().strip(",.") in _PHOTO_VERBS for w in words[1:6])


@lru_cache(maxsize=256)
def read_source(title: str, text: str) -> Source:
    """Read an article's text once (cached: the engine and the gate both ask)."""
    body, agency = clean_text(text[:_MAX_CHARS])
    paragraphs = [p for p in body.split("\n") if p.strip()]
    sentences: list[str] = []
    paragraph_of: list[int] = []
    captions: list[str] = []
    for n in range(1, min(_BEFORE_DATELINE + 1, len(paragraphs))):
        # "MIAMI, Florida (CNN) -- ..." a few paragraphs down: the story starts there, and
        # what comes before it (an editor's note, a caption) is furniture
        dateline = _LATER_DATELINE.match(paragraphs[n])
        if dateline:
            captions.extend(paragraphs[:n])
            paragraphs = [paragraphs[n][dateline.end() :], *paragraphs[n + 1 :]]
            agency = agency or dateline.group("agency").strip()
            break
    for n, paragraph in enumerate(paragraphs):
        raw = split_sentences(paragraph)
        alone = len(raw) == 1
        inside = _inside_quotations(raw)
        for k, sentence in enumerate(raw):
            if k in inside:
                # "... 'But in the summer, it is new. Maybe he is going abroad. 'I would ...":
                # the speaker's words, not the article's, though no mark says so here
                continue
            pieces = _split_fused(sentence)
            for k, piece in enumerate(pieces):
                piece = _ASIDE.sub("", piece)
                label = _LABEL.match(piece)
                unterminated = not piece.endswith(_TERMINAL)
                if (
                    unterminated
                    or (label is not None and _is_caption_label(label.group("label")))
                    or (len(pieces) > 1 and k < len(pieces) - 1)
                    or _is_photo_caption(piece, alone and len(pieces) == 1)
                    or (":" in piece and fused_label(piece) is not None)
                ):
                    captions.append(piece)
                    continue
                if _JUNK.search(piece.lower()) or not any(c.isalpha() for c in piece):
                    continue
                sentences.append(piece)
                paragraph_of.append(n)
    # a quotation opens onto a word and closes after one: a mark followed by a space is the
    # end of one quotation, not the start of another (lost marks misalign the pairs)
    quotes = tuple(
        q
        for q in (m.group(0) for m in QUOTED.finditer(body))
        if len(q) > 2 and not q[1].isspace() and not q[-2].isspace()
    )
    # capitalised mid-sentence and never written in lower case: the source's names
    lower = set(re.findall(r"\b[a-z][a-z'’-]*\b", body))
    names = frozenset(
        w
        for w in (m.group(1).rstrip(".,;:'’") for m in _NAME_WORD.finditer(body))
        if w.lower() not in lower
        and w.lower() not in STOPWORDS
        # "Like the rest, ..." run into a caption is no name: a function word never is
        and lexical_tag(w.lower()) not in FUNCTION_TAGS
    )
    return Source(
        title=" ".join(title.split()),
        text=body,
        agency=agency,
        sentences=tuple(sentences),
        paragraph_of=tuple(paragraph_of),
        captions=tuple(captions),
        quotes=quotes,
        names=frozenset(n for n in names if n),
    )


def _is_caption_label(label: str) -> bool:
    """A colon label of a caption ("Bad memories:", "Close ties:"), not a speaker ("He
    added:") nor a clause ("The problem is:"): no verb of its own but a base form."""
    return not CAPTION_SPEECH.search(label) and not any(t.tag in FINITE_TAGS for t in tag(label))
