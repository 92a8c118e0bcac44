"""Reading an article once (``read_source``): the sentences a story may use, the furniture it
may not (dateline, bylines, page furniture, photo captions), its quotations and its names."""

from __future__ import annotations

from pipeline.summarize._prose import caption
from pipeline.summarize._source import read_source

# A made-up wire story with the furniture real pages carry, one kind a paragraph.
PAGE = """\
SHEFFIELD (Reuters) -- Fernhill Robotics opened its first factory in Sheffield on Tuesday, \
creating 240 jobs.
By Anna Pell
Pictured: Nadia Okonjo cuts the ribbon at the plant
Chief executive Nadia Okonjo (pictured) said demand from grocers had doubled. She added: "We \
are running to keep up. Every chain wants more."
Proud day: The first robots roll off the line
Scroll down for video
Workers stand on the new line at the plant The factory will build 3,000 robots a year.
Nadia Okonjo waves to staff outside the plant on Tuesday in Sheffield, England.
Rivals in Germany have also grown, the company said. Click here to read more.
He added: "It is a good day for the city."
"""


def test_the_dateline_names_the_agency_and_is_not_a_sentence() -> None:
    source = read_source("Fernhill opens plant", PAGE)
    assert source.agency == "Reuters"
    assert source.sentences[0].startswith("Fernhill Robotics opened")
    assert source.title == "Fernhill opens plant"


def test_sentences_keep_the_news_and_drop_the_furniture() -> None:
    source = read_source("", PAGE)
    assert source.sentences == (
        "Fernhill Robotics opened its first factory in Sheffield on Tuesday, creating 240 jobs.",
        "Chief executive Nadia Okonjo said demand from grocers had doubled.",  # aside dropped
        'She added: "We are running to keep up. Every chain wants more."',  # one quotation
        "The factory will build 3,000 robots a year.",  # the caption before it cut off
        "Rivals in Germany have also grown, the company said.",
        'He added: "It is a good day for the city."',  # a speaker's colon is no caption
    )
    assert len(source.paragraph_of) == len(source.sentences)
    assert source.paragraph_of[1] == source.paragraph_of[2]  # same paragraph


def test_captions_are_found_in_every_shape() -> None:
    captions = read_source("", PAGE).captions
    assert "Pictured: Nadia Okonjo cuts the ribbon at the plant" in captions  # label
    assert "Proud day: The first robots roll off the line" in captions  # a label of its own
    assert "Workers stand on the new line at the plant" in captions  # run into the next
    # a one-sentence paragraph describing a photo in the present tense
    assert "Nadia Okonjo waves to staff outside the plant on Tuesday in Sheffield, England." in (
        captions
    )
    assert "By Anna Pell" in captions  # a byline has no closing punctuation either


def test_quotations_and_names() -> None:
    source = read_source("", PAGE)
    assert '"We are running to keep up. Every chain wants more."' in source.quotes
    assert '"It is a good day for the city."' in source.quotes
    assert {"Okonjo", "Sheffield", "Germany"} <= source.names
    # a capitalised word the text also writes in lower case is no name
    text = "Shares rose. Analysts said Shares in Fernhill were cheap, and shares fell later."
    assert "Shares" not in read_source("", text).names
    assert "Fernhill" in read_source("", text).names


def test_a_caption_ending_on_a_name_run_into_the_next_sentence_is_cut_off() -> None:
    # the same fused caption as above, ending on a place name instead of a common noun
    text = (
        "Fernhill Robotics opened a factory on Tuesday.\n"
        "Workers stand on the new line in Sheffield The factory will build 3,000 robots a year."
    )
    source = read_source("", text)
    assert "The factory will build 3,000 robots a year." in source.sentences
    assert "Workers stand on the new line in Sheffield" in source.captions


def test_the_gate_finds_no_caption_in_a_sentence_the_reader_keeps() -> None:
    # the engine writes only from ``sentences``; the gate must not call one of them a caption
    source = read_source("", PAGE)
    for sentence in source.sentences:
        assert caption(sentence) is None, sentence
    fused = read_source("", "Workers on the line in Sheffield The plant builds robots for grocers.")
    for sentence in fused.sentences:
        assert caption(sentence) is None, sentence


def test_the_same_article_is_read_once() -> None:
    assert read_source("t", PAGE) is read_source("t", PAGE)


def test_a_caption_run_into_a_quotation_is_cut_off_as_a_caption() -> None:
    text = (
        "Fernhill Robotics opened its first factory in Sheffield on Tuesday.\n\n"
        "Workers gather on the new line at the Sheffield plant before the opening today "
        "Chief Executive Nadia Okonjo said: 'This is a good day for the city.'\n\n"
        "The minister visits the plant on Friday morning with the mayor ‘It will bring 240 "
        "jobs to the valley,’ said the mayor at the gates.\n\n"
        "He told reporters ‘It will never happen again,’ said the coach."
    )
    source = read_source("Fernhill opens a factory", text)
    assert "Workers gather on the new line at the Sheffield plant before the opening today" in (
        source.captions
    )
    assert "Chief Executive Nadia Okonjo said: 'This is a good day for the city.'" in (
        source.sentences
    )
    quoted = "‘It will bring 240 jobs to the valley,’ said the mayor at the gates."
    assert quoted in source.sentences
    # a short lead-in is the speaker's sentence, not a caption
    assert "He told reporters ‘It will never happen again,’ said the coach." in source.sentences


def test_a_caption_label_of_five_words_is_a_caption() -> None:
    # "The bride and her grooms: This map shows ...": a label of a picture, not our sentence
    assert caption("The mayor and his rivals: This chart shows the votes since 2010.") is not None
    # a speaker's colon is no label: the label has a verb
    assert caption("The mayor told the council on Monday: We will build it.") is None


def test_a_caption_label_run_into_mid_sentence_is_cut_off() -> None:
    text = (
        "Fernhill Robotics opened a factory in Sheffield on Tuesday, the company said.\n"
        "Workers cheered as the first robot left the line Proud moment: The plant will build "
        "3,000 robots a year.\n"
        "It came with the release of Rise of the Machines: The Story of Fernhill, a film."
    )
    source = read_source("", text)
    fused = "Workers cheered as the first robot left the line Proud moment: The plant will"
    assert any(c.startswith(fused) for c in source.captions)
    assert not any(s.startswith("Workers cheered") for s in source.sentences)
    # a title the sentence cites, and a colon inside a quotation, are no caption
    assert any(s.startswith("It came with the release") for s in source.sentences)
    assert (
        caption('He praised the film "Rise of the Machines: The Story of Fernhill" today.') is None
    )
    assert caption("The chief executive added: We will hire 200 people.") is None


def test_a_title_after_a_hyphen_is_an_abbreviation_and_a_teaser_before_a_year_is_cut() -> None:
    text = (
        "Five facts about the harbour strike 20 years ago In 2006, then-Sen. Lane called for a "
        "review of the port. The review never came."
    )
    source = read_source("", text)
    assert "In 2006, then-Sen. Lane called for a review of the port." in source.sentences, (
        source.sentences
    )
    assert any(c.startswith("Five facts about the harbour strike") for c in source.captions)


def test_a_function_word_capitalised_mid_sentence_is_no_name() -> None:
    text = "Shoppers queued at dawn Like the rest of the city, the mayor waited for the sale."
    assert "Like" not in read_source("", text).names


def test_a_quotation_run_on_without_marks_is_the_speaker_s_not_the_article_s() -> None:
    # British news: each paragraph of a long quotation opens a mark and none closes; flattened,
    # the sentences between two marks are still the speaker's words
    text = (
        "Nadia Okonjo said the plant would open in May. She said: 'It is a big day for "
        "Sheffield. Maybe we will build a second one. 'Nobody thought robots would be made "
        "here.' The company employs 240 people."
    )
    source = read_source("Fernhill", text)
    assert "Maybe we will build a second one." not in source.sentences
    assert "The company employs 240 people." in source.sentences
    # a mark read wrongly (no other mark soon after) leaves the sentences that follow alone
    text = (
        "The minister said the talks were 'top-notch.'' Officials met on Monday. The plan was "
        "agreed on Tuesday. Markets rose on Wednesday. Banks reopened on Thursday."
    )
    source = read_source("Talks", text)
    assert "Markets rose on Wednesday." in source.sentences


def test_a_label_with_no_verb_but_a_base_form_is_a_caption_and_its_fused_opener_is_cut() -> None:
    text = (
        "Nadia Okonjo opened the plant on Tuesday in front of 200 staff. Close ties: Okonjo "
        "has worked with the city council since 2019. The board praised the talks about "
        "growing the business It’s well-known the firm wants a second site. Rivals said the "
        "plant was too small."
    )
    source = read_source("Fernhill", text)
    assert not any(s.startswith("Close ties") for s in source.sentences), source.sentences
    assert "It’s well-known the firm wants a second site." in source.sentences
    assert (
        "The problem is: nobody knows."
        in read_source("x", "The problem is: nobody knows.").sentences
    )


def test_only_a_dateline_written_in_full_further_down_cuts_what_comes_before() -> None:
    text = (
        "Amazon CloudFront was designed to make it easy to deliver content quickly.\n\n"
        "Here is how to stream it (Flash Video): upload the file and share the link.\n\n"
        "The tool costs nothing for the first year, the company said."
    )
    source = read_source("CloudFront", text)
    assert source.sentences[0].startswith("Amazon CloudFront was designed"), source.sentences
    assert source.agency == ""
