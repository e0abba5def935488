"""Twilio real-time transcription for call-assist (bot/console/transcription.py): a recorded call's webhooks become
the debtor's and the agent's utterances, the TwiML a call runs, and the one check of Twilio's signature."""
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from bot.console.transcription import MAX_TEXT, Heard, call_twiml, heard
from bot.sms.signature import signed_by_twilio

RECORDED = Path(__file__).resolve().parents[1] / "data" / "twilio_transcription_call.json"
CALL_SID = "CA9e41c7b3a0d25f86e1b4c7a93d0f2e58"
TRANSCRIPTION_SID = "GT2c8d5e1f9a4b07c36d1e8f2a5b9c4d70"
TOKEN = "test-auth-token-0f1e2d3c4b5a6978"
URL = "https://console.example.com/twilio/transcription/17"

# What the recorded call says, by SequenceId, written out here rather than derived from the file or the code.
UTTERANCES = [
    (2, "agent", "Hi, this is Sam calling from Northgate Services. Am I speaking with the account holder?", 0.94),
    (3, "debtor", "Yes, this is me. Who did you say you were?", 0.91),
    (4, "agent", "Thanks. This is an attempt to collect a debt and any information obtained will be used for that "
                 "purpose. This call is from a debt collector.", 0.96),
    (5, "debtor", "Okay. I got your letter, I know what this is about.", 0.89),
    (6, "agent", "To go over the account I first need to confirm your reference and your date of birth.", 0.93),
    (7, "debtor", "Sure, I have the letter right here with the reference on it.", 0.9),
    (9, "debtor", "I can't pay it all, could I settle for like 900", 0.88),
    (10, "agent", "I understand. Let me see what options I can offer you today.", 0.95),
    (11, "debtor", "I lost my job in march things are tight", 0.87),
    (12, "agent", "I'm sorry to hear that. We can look at a payment plan that fits your budget.", 0.94),
]


@pytest.fixture(scope="module")
def events() -> list[dict[str, str]]:
    return json.loads(RECORDED.read_text(encoding="utf-8"))["events"]


def by_sequence(events: list[dict[str, str]], sequence: int) -> dict[str, str]:
    return next(event for event in events if event["SequenceId"] == str(sequence))


def said(params: dict[str, str]) -> Heard:
    """The utterance a webhook must carry."""
    utterance = heard(params)
    assert utterance is not None
    return utterance


def content(**changes: str) -> dict[str, str]:
    """A well-formed final utterance of the debtor, changed as a test needs."""
    params = {"AccountSid": "AC5f3a9c0e7b21d4468a0c93e1b7d2f6a4", "CallSid": CALL_SID,
              "TranscriptionSid": TRANSCRIPTION_SID, "Timestamp": "2025-06-03T15:05:00.000000Z", "SequenceId": "40",
              "TranscriptionEvent": "transcription-content", "LanguageCode": "en-US", "Track": "inbound_track",
              "TranscriptionData": json.dumps({"transcript": "I already paid this", "confidence": 0.9}),
              "Final": "true"}
    params.update(changes)
    return params


# --- the recorded call ---------------------------------------------------------------------------------------

def test_the_recorded_call_is_heard_as_its_final_utterances_in_order(events):
    heard_now = [utterance for event in events if (utterance := heard(event)) is not None]
    assert heard_now == [Heard(speaker=speaker, text=text, call_sid=CALL_SID,
                               event_id=f"{TRANSCRIPTION_SID}:{sequence}", confidence=confidence)
                         for sequence, speaker, text, confidence in UTTERANCES]


def test_the_recorded_file_is_form_parameters_with_rising_sequence_ids(events):
    assert all(isinstance(value, str) for event in events for value in event.values())  # as a form posts them
    sequences = [int(event["SequenceId"]) for event in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert events[0]["TranscriptionEvent"] == "transcription-started"
    assert events[-1]["TranscriptionEvent"] == "transcription-stopped"


def test_the_inbound_track_is_the_debtor_and_the_outbound_track_the_agent(events):
    debtor_line = by_sequence(events, 11)
    assert debtor_line["Track"] == "inbound_track" and said(debtor_line).speaker == "debtor"
    assert said({**debtor_line, "Track": "outbound_track"}).speaker == "agent"
    disclosure = by_sequence(events, 4)
    assert disclosure["Track"] == "outbound_track" and said(disclosure).speaker == "agent"
    assert "attempt to collect a debt" in said(disclosure).text


def test_started_and_stopped_are_not_utterances(events):
    assert heard(by_sequence(events, 1)) is None
    assert heard(by_sequence(events, 13)) is None


def test_the_partial_result_is_ignored_and_only_because_it_is_partial(events):
    partial = by_sequence(events, 8)
    assert partial["Final"] == "false" and heard(partial) is None
    assert said({**partial, "Final": "true"}).text == "I can't pay it"
    assert heard({**partial, "Final": "FALSE"}) is None


def test_a_redelivered_webhook_has_the_same_event_id_and_another_sequence_another(events):
    line = by_sequence(events, 9)
    assert said(dict(line)).event_id == said(line).event_id == f"{TRANSCRIPTION_SID}:9"
    assert said({**line, "SequenceId": "10"}).event_id == f"{TRANSCRIPTION_SID}:10"
    assert said({**line, "TranscriptionSid": "GT" + "0" * 32}).event_id == "GT" + "0" * 32 + ":9"


# --- other events and content --------------------------------------------------------------------------------

def test_an_error_event_is_not_an_utterance():
    error = {"TranscriptionEvent": "transcription-error", "CallSid": CALL_SID, "TranscriptionSid": TRANSCRIPTION_SID,
             "SequenceId": "5", "TranscriptionError": "engine failed"}
    assert heard(error) is None


@pytest.mark.parametrize("transcript", ["", "   ", "\n\t", "\u200b"])
def test_an_empty_transcript_is_not_an_utterance(transcript):
    assert heard(content(TranscriptionData=json.dumps({"transcript": transcript, "confidence": 0.5}))) is None


def test_without_final_a_result_counts_as_final_as_with_partial_results_off():
    params = content()
    del params["Final"]
    assert said(params).text == "I already paid this"


def test_no_confidence_is_none_and_an_integer_one_a_float():
    assert said(content(TranscriptionData=json.dumps({"transcript": "yes"}))).confidence is None
    confidence = said(content(TranscriptionData=json.dumps({"transcript": "yes", "confidence": 1}))).confidence
    assert confidence == 1.0 and isinstance(confidence, float)


def test_control_and_format_characters_are_stripped():
    text = said(content(TranscriptionData=json.dumps(
        {"transcript": "I\x1b[31m lost\nmy\u202e job\x00 \u200bin march\r\n"}))).text
    assert text == "I [31m lost my job in march"


def test_a_long_transcript_is_capped():
    text = said(content(TranscriptionData=json.dumps({"transcript": "word " * 600}))).text
    assert len(text) <= MAX_TEXT and len(text) >= MAX_TEXT - 5 and text.startswith("word word")


# --- malformed webhooks --------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    ({"TranscriptionData": "not json"}, "not JSON"),
    ({"TranscriptionData": "[\"I already paid this\"]"}, "not a JSON object"),
    ({"TranscriptionData": "\"I already paid this\""}, "not a JSON object"),
    ({"TranscriptionData": json.dumps({"transcript": 42})}, "transcript is not a string"),
    ({"TranscriptionData": json.dumps({"transcript": ["I", "paid"]})}, "transcript is not a string"),
    ({"TranscriptionData": json.dumps({"transcript": "yes", "confidence": "high"})}, "confidence is not a number"),
    ({"TranscriptionData": json.dumps({"transcript": "yes", "confidence": True})}, "confidence is not a number"),
    ({"Track": "sideways_track"}, "unknown Track"),
    ({"Track": "both_tracks"}, "unknown Track"),
    ({"Track": ""}, "unknown Track"),
    ({"CallSid": ""}, "without a CallSid"),
    ({"CallSid": "   "}, "without a CallSid"),
    ({"TranscriptionSid": ""}, "without a TranscriptionSid"),
    ({"SequenceId": "seven"}, "SequenceId"),
    ({"SequenceId": ""}, "SequenceId"),
    ({"Final": "maybe"}, "Final"),
    ({"TranscriptionEvent": ""}, "no TranscriptionEvent"),
])
def test_malformed_content_raises_a_clear_value_error(changes, message):
    with pytest.raises(ValueError, match=message):
        heard(content(**changes))


@pytest.mark.parametrize("missing, message", [("CallSid", "CallSid"), ("Track", "unknown Track"),
                                              ("TranscriptionData", "without TranscriptionData"),
                                              ("TranscriptionEvent", "no TranscriptionEvent")])
def test_a_missing_field_raises_a_value_error(missing, message):
    params = content()
    del params[missing]
    with pytest.raises(ValueError, match=message):
        heard(params)


def test_a_malformed_partial_is_refused_too():
    with pytest.raises(ValueError, match="not JSON"):
        heard(content(Final="false", TranscriptionData="{oops"))


# --- the TwiML of the debtor's leg ---------------------------------------------------------------------------

def test_the_twiml_transcribes_both_tracks_then_rings_the_agent():
    callback = "https://console.example.com/twilio/transcription/17?k=a&b=\"c\""
    root = ET.fromstring(call_twiml(callback, "agent-sam"))
    assert root.tag == "Response"
    assert [child.tag for child in root] == ["Start", "Dial"]
    start, dial = root
    assert [child.tag for child in start] == ["Transcription"]
    assert start[0].attrib == {"statusCallbackUrl": callback, "track": "both_tracks", "inboundTrackLabel": "debtor",
                               "outboundTrackLabel": "agent", "partialResults": "false"}
    assert [(child.tag, child.text) for child in dial] == [("Client", "agent-sam")]


def test_the_agent_identity_is_text_not_markup():
    root = ET.fromstring(call_twiml(URL, "sam</Client><Hangup/><Client>x"))
    assert [element.tag for element in root.iter()] == ["Response", "Start", "Transcription", "Dial", "Client"]
    client = root.find("Dial/Client")
    assert client is not None and client.text == "sam</Client><Hangup/><Client>x"


@pytest.mark.parametrize("callback", ["", "/twilio/transcription/17", "ftp://example.com/x", "https://"])
def test_the_callback_must_be_an_absolute_http_url(callback):
    with pytest.raises(ValueError, match="absolute http"):
        call_twiml(callback, "agent-sam")


def test_the_agent_client_must_be_named():
    with pytest.raises(ValueError, match="client identity"):
        call_twiml(URL, "  ")


# --- Twilio's signature --------------------------------------------------------------------------------------

def test_every_recorded_webhook_signed_with_the_token_is_accepted(events):
    validator = RequestValidator(TOKEN)
    for event in events:
        signature = RequestValidator(TOKEN).compute_signature(URL, event)
        assert signed_by_twilio(validator, URL, event, signature), event["SequenceId"]


@pytest.mark.parametrize("tamper", ["wrong token", "changed param", "added param", "removed param", "changed URL",
                                    "empty signature"])
def test_a_signature_is_refused_when_anything_differs(events, tamper):
    params = dict(by_sequence(events, 9))
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    validator, url = RequestValidator(TOKEN), URL
    if tamper == "wrong token":
        validator = RequestValidator("another-token-0000000000000000")
    elif tamper == "changed param":
        params["TranscriptionData"] = json.dumps({"transcript": "I can pay it all", "confidence": 0.88})
    elif tamper == "added param":
        params["Stability"] = "0.9"
    elif tamper == "removed param":
        del params["LanguageCode"]
    elif tamper == "changed URL":
        url = URL.replace("/17", "/18")
    else:
        signature = ""
    assert not signed_by_twilio(validator, url, params, signature)


def test_no_signature_is_refused_before_the_validator_is_asked():
    class AcceptsAnything(RequestValidator):
        def validate(self, uri, params, signature):
            return True

    assert signed_by_twilio(AcceptsAnything(TOKEN), URL, {"CallSid": CALL_SID}, "anything")
    assert not signed_by_twilio(AcceptsAnything(TOKEN), URL, {"CallSid": CALL_SID}, "")
