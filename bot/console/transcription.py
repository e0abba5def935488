"""Twilio real-time transcription for call-assist: the TwiML a call runs, and what its webhooks say, as pure functions.

A call is placed to the debtor; when they answer, their leg runs `call_twiml`: `<Start><Transcription>` on both
tracks, then `<Dial><Client>` to the agent's softphone. Twilio then POSTs each utterance to the status callback
URL, and `heard` turns one POST's form parameters into a `Heard` (or None for everything that is not a final
utterance). The signature is checked before, by `bot.sms.signature` (as for SMS). No I/O here: the console's
route reads the body, checks the signature, calls `heard` and records what it returns.

Sources (Twilio's own pages, read for this module):
- TwiML `<Transcription>`: https://www.twilio.com/docs/voice/twiml/transcription
  (mirror: https://docs-dev.vercel.app/docs/voice/twiml/transcription.md) — used with `<Start>`; consumers should
  use the `statusCallbackUrl` webhook for live processing. Attribute names as in Twilio's own samples,
  https://github.com/TwilioDevEd/api-snippets/tree/master/twiml/voice/transcription (`statusCallbackUrl`,
  `track`, `inboundTrackLabel`/`outboundTrackLabel`, `partialResults`, `languageCode`, `name`).
- The Transcriptions subresource of a call: https://www.twilio.com/docs/voice/api/realtime-transcription-resource
  — SIDs `GT` + 32 hex (transcription), `AC` + 32 hex (account), `CA` + 32 hex (call); track is one of
  `inbound_track`, `outbound_track`, `both_tracks`.
- Callback delivery: https://www.twilio.com/docs/api/errors/17580 — Twilio retries a 5xx, 408, 425 or 429 up to
  three times (so an utterance can arrive twice: `Heard.event_id` is for that), and does not retry another 4xx.
- The callback's parameters (`TranscriptionEvent` = transcription-started | transcription-content |
  transcription-stopped | transcription-error, `AccountSid`, `CallSid`, `TranscriptionSid`, `Timestamp`,
  `SequenceId`, `Track`, `TranscriptionData` = a JSON string with `transcript` and `confidence`, `Final`,
  `Stability`, `LanguageCode`): the table on the TwiML page above was not readable in the stored copy this was
  written from; these names agree with several independent integrations of that webhook. Check them against
  the page when a real call is first recorded.

The installed twilio (8.2.2) has no `Start.transcription()`: the element is built with the library's generic
`add_child`, which serialises through xml.etree like the rest of the document.
"""
from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from twilio.twiml.voice_response import VoiceResponse

MAX_TEXT = 1000  # characters of one utterance kept; a runaway transcript must not flood the screen or the store

CONTENT = "transcription-content"

# The call is placed TO the debtor and this TwiML runs on the debtor's leg, so what Twilio receives on that leg
# (inbound) is the debtor's voice, and what it sends to them (outbound: the dialled agent) is the agent's. The
# labels `call_twiml` gives the tracks are accepted too, in case Twilio reports a track by its label.
SPEAKER_OF_TRACK = {"inbound_track": "debtor", "outbound_track": "agent", "debtor": "debtor", "agent": "agent"}


@dataclass(frozen=True)
class Heard:
    """One final utterance of a call, as transcribed by Twilio."""

    speaker: str  # debtor | agent
    text: str
    call_sid: str
    event_id: str  # TranscriptionSid:SequenceId, the same for a redelivered webhook
    confidence: float | None


def heard(params: Mapping[str, str]) -> Heard | None:
    """The final utterance a transcription webhook carries, or None if it carries none.

    None for the started, stopped and error events (and any other event name), for a partial result
    (`Final` false) and for an empty transcript. `Final` absent counts as final: with partial results off,
    every result is. Raises ValueError when the content of a transcription-content event is malformed.
    """
    event = params.get("TranscriptionEvent", "")
    if not event:
        raise ValueError("not a transcription webhook: no TranscriptionEvent")
    if event != CONTENT:
        return None
    call_sid = params.get("CallSid", "").strip()
    if not call_sid:
        raise ValueError("transcription-content without a CallSid")
    track = params.get("Track", "")
    speaker = SPEAKER_OF_TRACK.get(track)
    if speaker is None:
        raise ValueError(f"unknown Track {track[:40]!r}: expected inbound_track or outbound_track")
    event_id = _event_id(params)
    transcript, confidence = _transcription_data(params.get("TranscriptionData"))
    if not _is_final(params.get("Final")):
        return None
    text = _clean(transcript)
    if not text:
        return None
    return Heard(speaker=speaker, text=text, call_sid=call_sid, event_id=event_id, confidence=confidence)


def call_twiml(status_callback_url: str, agent_client: str) -> str:
    """The TwiML of the debtor's leg: transcribe both tracks to `status_callback_url`, then ring the agent.

    `agent_client` is the identity the agent's softphone (Twilio Client) registered with. Partial results are
    off: the screen shows utterances, not words as they are guessed.
    """
    parts = urlsplit(status_callback_url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("the status callback must be an absolute http(s) URL")  # Twilio would not call it (17585)
    identity = agent_client.strip()
    if not identity:
        raise ValueError("the agent's client identity is empty")
    response = VoiceResponse()
    response.start().add_child(
        "Transcription",
        status_callback_url=status_callback_url,
        track="both_tracks",
        inbound_track_label="debtor",
        outbound_track_label="agent",
        partial_results=False,
    )
    response.dial().client(identity)
    return str(response.to_xml())


def _event_id(params: Mapping[str, str]) -> str:
    transcription_sid = params.get("TranscriptionSid", "").strip()
    sequence = params.get("SequenceId", "").strip()
    if not transcription_sid:
        raise ValueError("transcription-content without a TranscriptionSid")
    if not sequence.isascii() or not sequence.isdigit():
        raise ValueError(f"SequenceId {sequence[:20]!r} is not a number")
    return f"{transcription_sid}:{int(sequence)}"


def _transcription_data(raw: str | None) -> tuple[str, float | None]:
    if raw is None:
        raise ValueError("transcription-content without TranscriptionData")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TranscriptionData is not JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise ValueError("TranscriptionData is not a JSON object")
    transcript = data.get("transcript", "")
    if not isinstance(transcript, str):
        raise ValueError("TranscriptionData's transcript is not a string")
    confidence = data.get("confidence")
    if confidence is not None and (isinstance(confidence, bool) or not isinstance(confidence, int | float)):
        raise ValueError("TranscriptionData's confidence is not a number")
    return transcript, None if confidence is None else float(confidence)


def _is_final(value: str | None) -> bool:
    if value is None:
        return True
    flag = value.strip().lower()
    if flag not in ("true", "false"):
        raise ValueError(f"Final {value[:20]!r} is neither true nor false")
    return flag == "true"


def _clean(transcript: str) -> str:
    # Control characters (Cc: newlines, escapes) become spaces; format characters (Cf: bidi overrides, zero-width)
    # go, so a transcript cannot reorder or hide text on the agent's screen.
    kept = "".join(" " if unicodedata.category(ch) == "Cc" else ch
                   for ch in transcript if unicodedata.category(ch) != "Cf")
    return " ".join(kept.split())[:MAX_TEXT].rstrip()
