"""Call-assist's pure rules: what each utterance on a call warns of, for the debtor's words and the collector's."""
from __future__ import annotations

import pytest

from bot.domain import cues
from bot.domain.calls import CallFacts, Heard, Line, assess, debtor_warnings, line_of, stops_talk_of_the_debt
from bot.presenters import call as words

TERMS = ("Northwind Bank", "Northwind Card Services", "1234.56", "1100.00")
NAMES = ("Jordan Avery", "Jordan")


def facts(**changes: object) -> CallFacts:
    base: dict[str, object] = {"verified": False, "disclosure_given": False, "outside_hours": None,
                               "debt_terms": TERMS, "debtor_names": NAMES}
    return CallFacts(**{**base, **changes})  # type: ignore[arg-type]


def agent(text: str, **changes: object) -> tuple[str, ...]:
    return assess(Heard("agent", text, "inform", 0.9), facts(**changes)).warnings


@pytest.mark.parametrize("text, code", [
    ("uh i lost my job in march and things are super tight", "hardship"),
    ("talk to my lawyer, i'm done", "attorney"),
    ("we filed chapter 13 last spring", "bankruptcy"),
    ("stop calling this number", "cease"),
    ("he passed away in june", "deceased"),
    ("wrong number buddy", "wrong_person"),
    ("that's not my account i never had a northwind card", "dispute"),
    ("i already paid that off in may", "already_paid"),
    ("this is harassment, i'm reporting you to the cfpb", "complain"),
    ("db gave case # 24-10422 ED MI", "bankruptcy"),
    ("i'm not supposed to be getting calls at all with the stay", "bankruptcy"),
    ("ok ok don't call here no more my boy's gone", "deceased"),
    ("can you guys not call the house phone anymore", "cease"),
    ("nobody ever credited it apparently", "already_paid"),
    ("that number's wrong, it was like twenty four hundred", "dispute"),
    ("i want the statements every statement from when i opened it", "dispute"),
    ("i'm tapped out i got nothing left till payday", "hardship"),
    ("she's doing the chapter 7 for us", "attorney"),
    ("i got the discharge papers from the court", "bankruptcy"),
    ("and don't be calling this house again", "cease"),
    ("leave my family alone", "cease"),
    ("oh great you people again that's the third time today", "complain"),
    ("it cleared my bank on the ninth and they didn't put it on my balance", "already_paid"),
    ("my purse got stolen and they opened stuff all over with my social", "dispute"),
    ("we had a real nice service for her at saint mary's", "deceased"),
    ("buckeye tire and brake this is lou", "wrong_person"),
])
def test_a_phrase_raises_its_warning_when_the_model_read_something_else(text, code):
    assert code in debtor_warnings(text, "inform", 0.9, NAMES)


@pytest.mark.parametrize("text, code", [
    ("i'm not filing for bankruptcy i just need time", "bankruptcy"),
    ("my brother is a lawyer and he says just pay it", "attorney"),
    ("do i need a lawyer for this", "attorney"),
    ("my dad passed last year and left me a little", "deceased"),
    ("i know i owe it, i just let it slide", "dispute"),
    ("should i be getting a lawyer for this", "attorney"),
    ("my sister's a paralegal and she said just call you", "attorney"),
    ("sorry gotta go my battery's dead", "deceased"),
    ("i just paid off my truck so i have a little room", "already_paid"),
    ("what would you take if i paid it all at once", "already_paid"),
    ("don't call me this early again, call after six", "cease"),
    ("the battery in my hearing aid is dead", "deceased"),
    ("no worries i'm not mad at you", "complain"),
    ("what about if i dispute it, does that stop the interest", "dispute"),
])
def test_negated_questions_and_other_peoples_news_raise_nothing_even_when_the_model_says_so(text, code):
    intent = "stop_contact" if code == "cease" else code  # the intent that warns of it (SPEC section 6)
    assert code not in debtor_warnings(text, intent, 0.95, NAMES)


def test_an_unsure_model_raises_nothing_on_its_own_and_wrong_person_must_be_surer():
    assert debtor_warnings("hmm ok", "bankruptcy", 0.45) == ()
    assert debtor_warnings("who's calling for him", "wrong_person", 0.8) == ()
    assert debtor_warnings("who's calling for him", "wrong_person", 0.9) == ("wrong_person",)


def test_the_debtor_saying_who_they_are_outweighs_a_wrong_person_reading():
    assert debtor_warnings("yeah this is jordan who's this", "wrong_person", 0.95, NAMES) == ()
    assert debtor_warnings("this is jordan's wife", "wrong_person", 0.95, NAMES) == ("wrong_person",)


def test_a_death_and_a_third_party_mean_the_speaker_is_not_the_debtor_for_the_rest_of_the_call():
    someone_else = Line(third_party=True)
    assert debtor_warnings("jordan passed away in march", "deceased", 0.9, NAMES) == ("deceased", "wrong_person")
    assert debtor_warnings("ok what do you need", "inform", 0.9, NAMES, someone_else) == ("wrong_person",)
    assert debtor_warnings("hi it's jordan, i'm here now", "greet", 0.9, NAMES, someone_else) == ()
    # said by a third party, "my dad died" is the debtor's death; so it is when the same words say who they are
    assert "deceased" in debtor_warnings("my dad died in february", "deceased", 0.9, NAMES, someone_else)
    assert debtor_warnings("um this is his son marco. my dad died in september", "deceased", 0.9, NAMES) == (
        "deceased", "wrong_person")
    assert debtor_warnings("my dad died in september", "deceased", 0.9, NAMES) == ()  # the debtor's own father


def test_who_is_on_the_line_follows_the_calls_words_until_the_debtor_comes_to_the_phone():
    said = [("this is his wife", ("wrong_person",)), ("he's at work", ("wrong_person",))]
    assert line_of(said) == Line(third_party=True)
    assert line_of([*said, ("hi, jordan here", ())]) == Line()
    lawyer = [("this is dana fisk i'm an attorney i represent mr avery", ("attorney", "wrong_person"))]
    assert line_of(lawyer) == Line(third_party=True, representative=True)
    assert line_of([*lawyer, ("ok", ("attorney", "wrong_person"))]).representative
    assert not line_of([("i'm his roommate, his lawyer has it all", ("attorney", "wrong_person"))]).representative


def test_the_debtors_attorney_on_the_line_carries_the_warning_on_every_line_of_theirs():
    assert debtor_warnings("law office of gary feld, gary speaking", None, 0.0, NAMES) == ("attorney", "wrong_person")
    assert debtor_warnings("i'm an attorney, i represent mr avery", "inform", 0.9, NAMES) == (
        "attorney", "wrong_person")
    assert debtor_warnings("thank you", "thank", 0.9, NAMES, Line(True, True)) == ("attorney", "wrong_person")
    assert debtor_warnings("i'm not a lawyer but that sounds wrong", None, 0.0, NAMES) == ()
    assert debtor_warnings("this is my lawyer's number, 555 0199", None, 0.0, NAMES) == ("attorney",)


def test_the_debtor_owning_up_ends_a_third_party_and_once_verified_a_death_spoken_of_is_someone_elses():
    assert debtor_warnings("ugh fine yeah it's me, what", "inform", 0.9, NAMES, Line(third_party=True)) == ()
    assert debtor_warnings("this is her son", "inform", 0.9, NAMES, Line(third_party=True)) == ("wrong_person",)
    will = "the lawyer handling her will is ms duarte"  # a death, perhaps the debtor's mother's
    assert "wrong_person" in debtor_warnings(will, None, 0.0, NAMES)
    assert "wrong_person" not in debtor_warnings(will, None, 0.0, NAMES, verified=True)  # the one verified speaks


def test_an_agency_whose_name_says_collections_tells_an_unverified_listener_of_a_debt():
    # Regulation F's limited-content message allows no business name that says it collects debts; said live to
    # someone not yet verified, "X Collections" tells them as much (the blind sets' labels let it pass).
    assert agent("hi this is trish with stanton ashby collections, is this jordan?") == ("not_verified",)
    assert agent("hi this is trish with stanton ashby services, is this jordan?") == ()


def test_once_an_attorney_is_named_sending_the_collector_to_them_warns_of_the_attorney():
    assert debtor_warnings("don't call me, you call her not me", None, 0.0, NAMES, represented=True) == (
        "cease", "attorney")
    assert "attorney" not in debtor_warnings("call her not me", None, 0.0, NAMES)
    assert debtor_warnings("all communication goes to her office", None, 0.0, NAMES, represented=True) == (
        "attorney",)


def test_a_voicemail_greeting_is_the_wrong_person_only_when_it_names_someone_else():
    assert debtor_warnings("hey this is tasha can't come to the phone leave it at the beep", None, 0.0, NAMES) == (
        "wrong_person",)
    assert debtor_warnings("you've reached the delgado residence, leave a message", None, 0.0, NAMES) == (
        "wrong_person",)
    assert debtor_warnings("hey it's jordan, leave me a message", None, 0.0, NAMES) == ()
    assert debtor_warnings("you've reached mark and jordan, leave us a message", None, 0.0, NAMES) == ()
    assert debtor_warnings("please leave a message after the tone", None, 0.0, NAMES) == ()


def test_the_collector_speaking_of_the_debt_before_verification_is_a_slip():
    assert agent("hi, is this jordan avery?") == ()
    assert agent("i'm calling about your northwind bank account") == ("not_verified",)
    assert agent("you owe $1,234.56") == ("not_verified",)
    assert agent("she listed this number on her northwind card service") == ("not_verified",)
    assert agent("you owe $1,234.56", verified=True) == ()


@pytest.mark.parametrize("text", [
    "if you can do two hundred today i can set up the rest monthly", "how about a hundred today and a hundred monthly",
    "perfect what card would you like to use for today's payment", "could the family make a small payment today"])
def test_what_asks_for_payment(text):
    assert cues.asks_for_payment(text)


def test_asking_for_payment_before_the_disclosure_is_a_slip_unless_it_came_first_in_the_same_breath():
    assert agent("can you pay something today?", verified=True) == ("no_disclosure",)
    assert agent("this is an attempt to collect a debt. can you pay something today?", verified=True) == ()
    assert agent("can you pay today? by the way this is a debt collector", verified=True) == ("no_disclosure",)
    assert agent("can you pay something today?", verified=True, disclosure_given=True) == ()
    assessed = assess(Heard("agent", "Northgate Services is a debt collector.", None, 0.0), facts(verified=True))
    assert assessed.disclosure_given and assessed.warnings == ()
    # said before the right party is verified, the disclosure itself tells a possible third party of a debt
    assert agent("Northgate Services is a debt collector.") == ("not_verified",)


def test_outside_the_window_every_utterance_says_so():
    late = facts(outside_hours="outside 08:00-21:00 in the debtor's zone (it is 22:30 there)")
    assert assess(Heard("debtor", "hello?", "greet", 0.9), late).warnings == ("outside_hours",)
    assert assess(Heard("agent", "can you pay now", "inform", 0.9), late).warnings == (
        "not_verified", "no_disclosure", "outside_hours")


def test_warnings_that_stop_collection_stop_the_offers_and_others_do_not():
    assert stops_talk_of_the_debt(["hardship", "attorney"])
    assert not stops_talk_of_the_debt(["hardship", "complain", "outside_hours"])


def test_every_warning_has_a_title_and_an_action_and_suggestions_put_first_things_first():
    from bot.domain.calls import WARNINGS

    assert [d["code"] for d in words.warning_details(WARNINGS)] == list(WARNINGS)
    unverified = words.SuggestionFacts(False, False, None, "USD", "Northgate", None, None, None)
    said = words.suggestions(unverified, ("wrong_person",), "wrong_person", "debtor")
    assert "wrong number" in said[0] and 2 <= len(said) <= 3
    assert not any("1,234" in line or "Northwind" in line for line in said)


def test_the_voicemail_says_nothing_of_the_debt():
    message = words.voicemail("ana", "Northgate Services", "1-800-555-0142")
    assert "1-800-555-0142" in message and "ana" in message
    assert not cues.asks_for_payment(message) and not cues.gives_disclosure(message)
    for word in ("debt", "collect", "balance", "owe", "account", "payment"):
        assert word not in message.lower()
