# Two commands: `make run` installs and starts the app; `make test` installs and runs the tests.
#   make run                          http://localhost:8501, reachable from this machine only
#   make run PORT=8080                another port
#   make run ADDRESS=0.0.0.0          reachable from other machines too (a classroom's projector laptop)
#   BERT_LENS_MODEL=/folder make run  another model (a hub id or a folder, e.g. one `python -m bertlens random-model`
#                                     wrote for trying the app without the weights)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
ADDRESS ?= localhost

.PHONY: run test install install-dev browser deploy-tools bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The lock pins everything the app needs at run time, down to what its requirements require, so that every install
# (here, CI and deploy/Dockerfile) gets the versions the tests ran on; it replaces any constraint file of pip's config.
LOCK := deploy/requirements.lock

$(VENV)/.installed: requirements.txt $(LOCK) | $(BIN)/python
	PIP_CONSTRAINT=$(LOCK) $(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(LOCK) $(VENV)/.installed
	PIP_CONSTRAINT=$(LOCK) $(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/streamlit run serve.py --server.port $(PORT) --server.address $(ADDRESS)

browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; }

# Debian's nginx for tests/test_deploy.py; the test runs its own unprivileged instance, never the system service.
deploy-tools:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

test: install-dev browser deploy-tools
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m devtools.bench

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
