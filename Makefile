# One command sets everything up; nothing needs to be installed by hand.
VENV        := .venv
PY          := $(VENV)/bin/python
GO          ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
TOXIPROXY_VERSION := v2.12.0
TOXIPROXY   := $(VENV)/bin/toxiproxy-server
TAP_VENV    := $(VENV)/tap
MITMDUMP    := $(TAP_VENV)/bin/mitmdump
COMPOSE_VERSION := v2.40.3
DOCKER_CONFIG_DIR := $(abspath $(VENV))/docker/config
COMPOSE     := $(DOCKER_CONFIG_DIR)/cli-plugins/docker-compose
MITMPROXY_VERSION        := 12.3.1
MITMPROXY_VERSION_PY311  := 11.0.2

.PHONY: setup system-packages demo test unit integration lint gate bench mixes clean \
	compose-engine compose-engine-stop compose-images compose-file compose-ready compose-plugin

setup: $(VENV)/.installed $(TOXIPROXY) $(MITMDUMP) system-packages

# Real packet loss needs the kernel's tools: iproute2 (namespaces), iptables (the `statistic`
# rule) and ethtool (offloads off); `--cdn varnish` needs Varnish 7.1 and varnish-modules
# (xkey, var). All from Debian's packages. Without root this is skipped, and a scenario that
# needs them is refused with one line saying so.
SYSTEM_PACKAGES := iproute2 iptables ethtool varnish varnish-modules
system-packages:
	@if command -v ip >/dev/null && command -v iptables >/dev/null && command -v ethtool >/dev/null \
		&& PATH="$$PATH:/usr/sbin" command -v varnishd >/dev/null \
		&& ls /usr/lib/*/varnish/vmods/libvmod_xkey.so >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
	else echo "note: some of $(SYSTEM_PACKAGES) missing and not root: packet loss and --cdn varnish will be refused"; fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The real Toxiproxy server, pinned, built from the Go module proxy into the project's env.
$(TOXIPROXY):
	mkdir -p $(VENV)/gobin
	GOBIN=$(abspath $(VENV))/gobin GOFLAGS=-mod=mod $(GO) install github.com/Shopify/toxiproxy/v2/cmd/server@$(TOXIPROXY_VERSION)
	mv $(VENV)/gobin/server $@
	rmdir $(VENV)/gobin

# mitmproxy (the taps) in an environment of its own: it pins versions that Locust's exclude.
# Its version follows the Python it runs on: 12.x needs Python 3.12 or newer (taken from PATH or
# pyenv when there is one); on Python 3.11 the newest is 11.0.2.
$(MITMDUMP):
	@py=""; for v in 3.12 3.13; do \
		for c in python$$v $$(ls -d "$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)"/versions/$$v*/bin/python$$v 2>/dev/null); do \
			if [ -z "$$py" ] && $$c -c 'import sys' >/dev/null 2>&1; then py=$$c; fi; \
		done; \
	done; \
	if [ -n "$$py" ]; then pin=$(MITMPROXY_VERSION); else py=python3; pin=$(MITMPROXY_VERSION_PY311); fi; \
	echo "mitmproxy $$pin on $$($$py --version) into $(TAP_VENV)"; \
	$$py -m venv $(TAP_VENV) && $(TAP_VENV)/bin/pip install --quiet --upgrade pip && \
	$(TAP_VENV)/bin/pip install --quiet "mitmproxy==$$pin"

# The main job: every hypothesis run and scored against the incident, in under 5 minutes.
demo: setup
	$(VENV)/bin/shieldlab validate --quick --out results/validate
	@echo
	@echo "Open the report: results/validate/validate.html in a browser (or read results/validate/validate.md)."
	@echo "One run's own report: .venv/bin/shieldlab report results/validate/runs/<run-id>"

# The tests (compose mode's on a Docker engine: the one that answers, or a private one started
# here and stopped after), then the regression gate for real (exit 0 only if every expectation
# holds).
test: setup lint compose-ready
	@status=0; \
	$(PY) -m pytest -q tests/unit tests/integration || status=$$?; \
	$(PY) -m harness.compose.engine stop || status=$$?; \
	[ $$status = 0 ] || exit $$status; \
	$(VENV)/bin/shieldlab gate ci --junit results/gate/junit.xml --out results/gate

gate: setup
	$(VENV)/bin/shieldlab gate ci --junit results/gate/junit.xml --out results/gate

unit: setup
	$(PY) -m pytest -q tests/unit

integration: setup compose-ready
	@status=0; $(PY) -m pytest -q tests/integration || status=$$?; \
	$(PY) -m harness.compose.engine stop; exit $$status

lint: setup
	$(VENV)/bin/ruff check harness proxies tests
	$(VENV)/bin/mypy harness proxies

bench: setup
	$(VENV)/bin/shieldlab bench

# Re-record the shipped traffic mixes (scenarios/mixes) from real pip and bandersnatch runs
# through an edge; the recordings are kept in results/mixes. Not needed to use them.
mixes: setup
	$(PY) -m harness.load.shipped_mixes

# --- compose mode ---
# A Docker engine: the one that answers, or a private dockerd (Debian's docker.io) with its own
# data root, socket and pid file under .shieldlab/engine; compose-engine-stop stops it and removes
# the iptables chains and bridges dockerd leaves on the host.
compose-engine: setup
	@command -v dockerd >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap; }
	$(PY) -m harness.compose.engine start

compose-engine-stop:
	$(PY) -m harness.compose.engine stop

# Compose v2, pinned, built from the Go module proxy (its go.mod has exclude directives, so
# `go install` refuses it: download the module, build it from a writable copy) and used as a CLI
# plugin through a project-local DOCKER_CONFIG.
$(COMPOSE):
	mkdir -p $(dir $@) $(VENV)/docker
	dir=$$(GOFLAGS=-mod=mod $(GO) mod download -json github.com/docker/compose/v2@$(COMPOSE_VERSION) \
		| $(PY) -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') && \
	rm -rf $(VENV)/docker/compose-src && cp -r "$$dir" $(VENV)/docker/compose-src && \
	chmod -R u+w $(VENV)/docker/compose-src && \
	cd $(VENV)/docker/compose-src && $(GO) build -o $@ \
		-ldflags "-X github.com/docker/compose/v2/internal.Version=$(COMPOSE_VERSION)" ./cmd
	rm -rf $(VENV)/docker/compose-src

# The node and Toxiproxy images, without a registry when none answers (see Dockerfile). The
# node image holds this checkout's sources: build it again after changing them (a compose run
# refuses an image built from other sources).
compose-images: setup compose-plugin
	$(PY) -m harness.compose.images

# A Compose v2 that the docker CLI already has (Docker's own packages) is used as it is.
compose-plugin:
	@docker compose version >/dev/null 2>&1 || [ -x $(COMPOSE) ] || $(MAKE) --no-print-directory $(COMPOSE)

# Everything `shieldlab run --mode compose` needs: an engine, the Compose plugin, the images.
compose-ready: compose-engine compose-images

# compose.yaml again from the topology defaults (a unit test holds the committed one to it).
compose-file: setup
	$(VENV)/bin/shieldlab compose-file --out compose.yaml

clean:
	rm -rf $(VENV) .shieldlab
