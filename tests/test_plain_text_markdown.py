"""plain_text_markdown: text from data shown literally by a markdown renderer (issue 18, finding 6;
the app's pages use it). Checked with a real CommonMark renderer (markdown-it-py, the reference
implementation's Python port), not by comparing escape strings."""
from __future__ import annotations

import html

import pytest
from markdown_it import MarkdownIt

from crm_metrics.delivery.output import plain_text_markdown

HOSTILE = [
    "[Session expired…](https://evil.example)",
    "![x](https://evil.example/p.png)",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ `code` ~~strike~~",
    "# Heading",
    "> quote",
    "- item",
    "1. first",
    "| a | b |",
    "{curly} back\\slash",
    ":red[coloured] :material/home: $x^2$",
    "<https://evil.example>",
    "Zürich & Genève",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_shows_the_text_as_written(text):
    rendered = MarkdownIt("commonmark").render(plain_text_markdown(text)).strip()
    assert rendered == f"<p>{html.escape(text, quote=False)}</p>", rendered
    assert "<a " not in rendered and "<img" not in rendered


def test_line_breaks_stay_line_breaks_and_none_is_empty():
    rendered = MarkdownIt("commonmark").render(plain_text_markdown("one\ntwo [x](y)"))
    assert rendered.strip() == "<p>one<br />\ntwo [x](y)</p>"
    assert plain_text_markdown(None) == ""
