# `make run` sets everything up and starts the assistant; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SPACY  := models/spacy_en/meta.json
MODEL  := models/collections.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml)

.PHONY: run test train env db bench clean

run: $(MODEL) db
	$(PY) -m bot run

test: $(MODEL)
	$(PY) -m pytest

env: $(STAMP)
train: $(MODEL)

db: $(STAMP)
	$(PY) -m bot prepare

bench: $(MODEL)
	$(PY) bench/conversation_latency.py --train

# Rasa 3.6 declares Python < 3.11 but runs on it: every version is pinned in the lock (see README).
$(STAMP): requirements/lock.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check pip==24.2
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python -r requirements/lock.txt
	touch $@

$(SPACY): $(STAMP) bot/language/spacy_model.py
	$(PY) -m bot.language.spacy_model models/spacy_en

# Trains only when the training data or configuration changed since the last model.
$(MODEL): $(STAMP) $(SPACY) $(TRAINING_INPUTS)
	$(PY) -m rasa train --force --fixed-model-name collections --out models
	touch $@

clean:
	rm -rf models/collections.tar.gz models/spacy_en var results
