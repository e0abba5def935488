"""Fitting replies into SMS, and the carrier keywords (bot/domain/sms.py)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.sms import (
    MAX_PARTS,
    SINGLE_SMS_GSM7,
    SINGLE_SMS_UCS2,
    Keyword,
    chosen_payload,
    is_gsm7,
    keyword_of,
    sms_length,
    split_for_sms,
    with_numbered_choices,
)


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop! ", "StopAll", "unsubscribe", "CANCEL", "end.", "quit",
                                  "REVOKE", "optout", "OPTOUT\n"])
def test_opt_out_keywords_in_any_case(body):
    assert keyword_of(body) is Keyword.OPT_OUT


@pytest.mark.parametrize("body, keyword", [("START", Keyword.OPT_IN), ("start", Keyword.OPT_IN),
                                           ("help", Keyword.HELP), ("HELP?", Keyword.HELP)])
def test_opt_in_and_help(body, keyword):
    assert keyword_of(body) is keyword


@pytest.mark.parametrize("body", ["stop texting me", "please stop", "the end", "help me pay", "", "stopp", "yes"])
def test_a_keyword_must_be_the_whole_text(body):
    assert keyword_of(body) is None


def fits(part: str) -> bool:
    return sms_length(part) <= (SINGLE_SMS_GSM7 if is_gsm7(part) else SINGLE_SMS_UCS2)


def test_a_short_reply_is_one_text_unchanged():
    assert split_for_sms("How can I help?") == ["How can I help?"]


def test_a_long_reply_splits_between_sentences_and_keeps_amounts_whole():
    text = ("Here is the plan: 6 monthly payments of $200.00 from 15 December 2026, then $34.56 on 15 June 2027. "
            "That is $1,234.56 in all, paying the balance in full. Shall I set it up? (yes or no)")
    parts = split_for_sms(text)
    assert len(parts) == 2 and all(fits(p) for p in parts)
    assert parts[0].endswith("15 June 2027. (1/2)") and "$1,234.56" in parts[1] and parts[1].endswith("(2/2)")


def test_emoji_make_a_text_ucs2_and_shorter():
    parts = split_for_sms("Thanks 🙂 " * 20)
    assert not is_gsm7(parts[0]) and all(sms_length(p) <= SINGLE_SMS_UCS2 for p in parts)


def test_a_reply_too_long_for_any_phone_is_shortened():
    parts = split_for_sms("word " * 2000)
    assert len(parts) == MAX_PARTS and parts[-1].endswith(f"... ({MAX_PARTS}/{MAX_PARTS})")


def test_gsm_extended_characters_count_twice():
    assert sms_length("€") == 2 and sms_length("a") == 1 and sms_length("😀") == 2


@given(st.text(min_size=1, max_size=3000))
def test_every_part_fits_one_sms_and_nothing_but_spacing_is_lost(text):
    parts = split_for_sms(text)
    assert all(fits(p) for p in parts)
    if len(parts) <= MAX_PARTS and len(parts) > 1:
        body = "".join(p.rsplit(" (", 1)[0] for p in parts)
        assert "".join(body.split()) == "".join(" ".join(text.split()).split())


def test_buttons_become_numbered_choices():
    text = with_numbered_choices("Shall I set it up?", ["Yes", "No"])
    assert text == "Shall I set it up?\nReply 1 Yes, 2 No."
    assert chosen_payload(" 2. ", ["/affirm", "/deny"]) == "/deny"
    assert chosen_payload("3", ["/affirm", "/deny"]) is None
    assert chosen_payload("2 please", ["/affirm", "/deny"]) is None
