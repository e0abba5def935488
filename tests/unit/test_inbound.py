"""What every channel checks before the assistant reads a message (bot/domain/inbound.py)."""
import pytest

from bot.domain.inbound import EMPTY_REPLY, MAX_MESSAGE_CHARS, TOO_LONG_REPLY, screen


def test_a_message_is_cleaned_of_control_and_direction_characters():
    assert screen("  hi\x00 there\u202e\x1b  ").text == "hi there"
    assert screen("line one\nline two").text == "line one\nline two"  # newlines are kept
    assert screen("cafe\u0301").text == "café"  # one form of each accented letter


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01", None, 42, ["a"], {"text": "hi"}, b"bytes"])
def test_nothing_readable_is_rejected_as_empty(raw):
    assert screen(raw).rejection == EMPTY_REPLY


def test_the_length_limit_counts_what_is_left_after_cleaning():
    assert screen("x" * MAX_MESSAGE_CHARS).rejection is None
    assert screen("x" * (MAX_MESSAGE_CHARS + 1)).rejection == TOO_LONG_REPLY
    assert screen("x" * MAX_MESSAGE_CHARS + "\x00" * 50).rejection is None


@pytest.mark.parametrize("raw", ["😀", "<script>alert(1)</script>", "'; DROP TABLE accounts; --"])
def test_odd_but_readable_text_passes_unchanged(raw):
    assert screen(raw).text == raw and screen(raw).rejection is None
