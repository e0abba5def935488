"""The one check that a webhook request comes from Twilio: the SMS channel's and the console's call webhooks."""
from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def signed_by_twilio(validator: RequestValidator, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether `signature` (the X-Twilio-Signature header) is Twilio's for this URL and these form parameters.

    `url` is the public URL Twilio requested, which the signature covers; `params` every form field, empty ones
    included. No signature is never valid.
    """
    return bool(signature) and bool(validator.validate(url, dict(params), signature))
