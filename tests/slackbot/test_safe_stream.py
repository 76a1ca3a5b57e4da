"""Streamed LLM text cannot ping anyone or disguise a link, however its tokens are cut."""

import random

import pytest

from slackbot.safe_stream import SafeStream

TRICKS = [
    "Hello <!channel> and @here friends, read [the policy](https://evil.example/login) now.",
    "Read [the policy].\n- [the policy]: https://evil.example/login\n",
    "a @everyone b <@U0LEAK> c <https://evil.example|docs> d",
]
LIVE = ["<!channel>", "@here", "@everyone", "<@U0LEAK>", "](https://evil", "|docs>"]


@pytest.mark.parametrize("text", TRICKS)
def test_tokens_cut_anywhere_never_ping_nor_hide_a_link(text):
    cuts = random.Random(7)
    for _ in range(200):
        stream, shown, i = SafeStream(), "", 0
        while i < len(text):
            n = cuts.randint(1, 6)
            shown += stream.feed(text[i : i + n])
            i += n
        shown += stream.finish()
        assert not [live for live in LIVE if live in shown], shown


def test_plain_words_show_at_once_and_only_an_at_word_waits():
    stream = SafeStream()
    assert stream.feed("Hello") == "Hello"  # the first token is not held back
    assert stream.feed(" wor") == " wor"
    assert stream.feed("ld @he") == "ld "
    assert stream.feed("re ok") == "@\u2060here ok"
    assert stream.feed(" see [the") == " see "
    assert stream.feed(" docs](https://x.example)") == "the docs (https://x.example)"
