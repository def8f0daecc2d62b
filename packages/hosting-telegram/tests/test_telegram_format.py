from __future__ import annotations

import pytest

from hosting.telegram import MESSAGE_LIMIT, markdown_messages
from hosting.telegram._format import Span, markdown_spans, render, split_spans, utf16_length
from hosting.telegram.testing import HTMLParseError, visible_text


def test_text_is_escaped_for_html() -> None:
    [markup] = markdown_messages("a < b && c > d </b> &amp;")
    assert markup == "a &lt; b &amp;&amp; c &gt; d &lt;/b&gt; &amp;amp;"
    assert visible_text(markup) == "a < b && c > d </b> &amp;"


def test_bold_code_and_fences_become_tags() -> None:
    text = "Use **care** with `x<y`:\n```python\nif a < b:\n    pass\n```\ndone"
    assert markdown_spans(text) == [
        Span("plain", "Use "),
        Span("bold", "care"),
        Span("plain", " with "),
        Span("code", "x<y"),
        Span("plain", ":\n"),
        Span("pre", "if a < b:\n    pass"),
        Span("plain", "\ndone"),
    ]
    [markup] = markdown_messages(text)
    assert "<b>care</b>" in markup and "<code>x&lt;y</code>" in markup
    assert "<pre>if a &lt; b:\n    pass</pre>" in markup


def test_partial_markdown_parses_while_streaming() -> None:
    # An unclosed fence is code to the end; an unclosed ** is plain text.
    assert markdown_spans("see **this and ```\ncode") == [
        Span("plain", "see **this and "),
        Span("pre", "code"),
    ]


def test_long_text_is_split_at_newlines_within_the_limit() -> None:
    paragraph = "word " * 150 + "\n"
    text = paragraph * 20
    messages = markdown_messages(text)
    assert len(messages) > 1
    for markup in messages:
        assert 0 < utf16_length(visible_text(markup)) <= MESSAGE_LIMIT
    # Cut at paragraph ends: every message but the last is whole paragraphs.
    assert all(visible_text(markup).endswith("word") for markup in messages)
    assert "".join(visible_text(markup) for markup in messages).replace("\n", "").replace(
        " ", ""
    ) == text.replace("\n", "").replace(" ", "")


def test_a_code_block_cut_by_the_limit_is_closed_and_reopened() -> None:
    code = "\n".join(f"line {number} <tag> & more" for number in range(400))
    messages = markdown_messages(f"Intro\n```\n{code}\n```\nOutro")
    assert len(messages) >= 3
    for markup in messages:
        visible_text(markup)  # raises on any unbalanced tag or bad entity
        assert utf16_length(visible_text(markup)) <= MESSAGE_LIMIT
    assert messages[1].startswith("<pre>") and messages[1].endswith("</pre>")
    assert "".join(visible_text(markup) for markup in messages).count("<tag>") == 400


def test_the_limit_counts_utf16_units_and_never_cuts_a_character() -> None:
    text = "😀" * 3000  # two UTF-16 units each
    messages = split_spans([Span("plain", text)])
    assert [utf16_length(span.text) for [span] in messages] == [4096, 1904]
    assert "".join(span.text for [span] in messages) == text


def test_small_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        split_spans([Span("plain", "abc")], limit=1)


def test_render_escapes_every_span() -> None:
    assert render([Span("italic", "<i>"), Span("code", "&")]) == "<i>&lt;i&gt;</i><code>&amp;</code>"


@pytest.mark.parametrize(
    "markup",
    ["a < b", "fish & chips", "<b>open", "<b><i>x</b></i>", "<script>x</script>", "&nbsp;", "</b>"],
)
def test_the_stand_in_refuses_bad_html(markup: str) -> None:
    with pytest.raises(HTMLParseError, match="can't parse entities"):
        visible_text(markup)
