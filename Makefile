# occstudio: `make run` opens the studio on the demo data, `make test` runs every test.
# Both set everything up first (system packages, a virtualenv, Python packages) and are
# quiet and quick when that is already done.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt-installed
XVFB   := xvfb-run -a -s "-screen 0 1600x1000x24"
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

APT_PACKAGES := libusb-1.0-0 libgl1 libegl1 libosmesa6 libgl1-mesa-dri xvfb xauth \
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 \
  libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libdbus-1-3 libfontconfig1

DEMO := resources/demo/manifest.json

.PHONY: run test setup system-deps venv demo lint bench screenshot app wheel clean help

help:
	@echo "make run    - set up, then open occstudio on the bundled demo data"
	@echo "make test   - set up, then run every test (lint, import layers, pytest under Xvfb)"
	@echo "make bench  - run the benchmarks"
	@echo "make app    - build the one-folder app with PyInstaller (packaging/)"
	@echo "make wheel  - build the wheel and sdist into dist/"

setup: system-deps venv $(DEMO)

system-deps: $(APT_STAMP)
$(APT_STAMP):
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $@

venv: $(STAMP)
$(STAMP): pyproject.toml plugins/occstudio-semantickitti/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Python packages into $(VENV) (first run takes a few minutes)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q torch==2.13.0
	@$(PY) -m pip install -q -e '.[dev,cluster,fast]'
	@$(PY) -m pip install -q -e plugins/occstudio-semantickitti
	@touch $@

$(DEMO): | venv
	@$(PY) resources/make_demo.py --out resources/demo

demo: venv
	@$(PY) resources/make_demo.py --out resources/demo

run: setup
	@if [ -n "$$DISPLAY" ] || [ -n "$$WAYLAND_DISPLAY" ]; then \
	  $(VENV)/bin/occstudio resources/demo; \
	else \
	  echo "No display found: starting occstudio inside Xvfb (set DISPLAY to see the window)"; \
	  $(XVFB) $(VENV)/bin/occstudio resources/demo; \
	fi

lint: venv
	@$(VENV)/bin/ruff check --quiet occstudio tests benchmarks packaging plugins
	@$(VENV)/bin/lint-imports --no-cache >/dev/null && echo "import layers: ok"

test: setup lint
	@$(XVFB) $(PY) -m pytest -q

bench: setup
	@$(XVFB) $(PY) benchmarks/run_all.py

screenshot: setup
	@$(XVFB) $(VENV)/bin/occstudio screenshot resources/demo --predictions resources/demo/predictions --out resources/screenshots/main_window.png

app: setup
	@packaging/build.sh

wheel: venv
	@$(PY) -m pip install -q build
	@$(PY) -m build --outdir dist .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
