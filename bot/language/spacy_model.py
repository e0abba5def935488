"""Builds the spaCy pipeline Rasa's SpacyNLP loads: blank English, since pretrained ones can't be fetched.

Usage: python -m bot.language.spacy_model models/spacy_en
"""
from __future__ import annotations

import sys
from pathlib import Path

import spacy


def build(target: Path) -> None:
    """Write a blank English spaCy pipeline to `target`."""
    nlp = spacy.blank("en")
    nlp.to_disk(target)


if __name__ == "__main__":
    build(Path(sys.argv[1]))
    print(f"spaCy pipeline written to {sys.argv[1]}")
