# The front door: `make run` starts the appliance on the demo site, `make test` runs
# every check. Both set up what they need first (system packages, .venv, pinned deps).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= var
# lintian, desktop-file-utils and binutils (readelf) build and check the packages; the
# libraries after xvfb are what the console's package depends on for a real desktop.
APT_PACKAGES := python3-venv lintian desktop-file-utils binutils postgresql mosquitto chromium zbar-tools \
  libegl1 libfontconfig1 libxkbcommon0 libdbus-1-3 xvfb libxcb-cursor0 libxcb-icccm4 \
  libxcb-keysyms1 libxkbcommon-x11-0 libxcb-image0 libxcb-randr0 libxcb-render-util0 \
  libxcb-shape0 libxcb-xkb1 libwayland-cursor0 libwayland-egl1 libgl1 libcups2
# The core, every plugin under plugins/ (each its own distribution) and the console.
DISTRIBUTIONS := -e .[test] $(foreach p,$(sort $(dir $(wildcard plugins/*/pyproject.toml))),-e $(p)) -e console[package]
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-packages test-quick lint typecheck pytest bench console package setup system-packages clean

run: setup
	$(BIN)/floki-core --data-dir $(DATA_DIR) demo

# The type check runs beside the tests (one core for under a minute, while the test
# workers also wait on processes and sockets); either failing fails the target.
test: setup lint
	@$(BIN)/mypy > $(VENV)/typecheck.log 2>&1 & typecheck=$$!; \
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not packages" $(PYTEST_ARGS); tests=$$?; \
	wait $$typecheck; types=$$?; \
	echo "$(BIN)/mypy"; cat $(VENV)/typecheck.log; \
	test $$tests -eq 0 && test $$types -eq 0

setup: system-packages $(STAMP)

# Only what is missing is installed, so a machine that has everything needs no network.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): constraints.txt pyproject.toml plugins/*/pyproject.toml console/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt setuptools wheel
	# Every distribution builds with the venv's own (pinned) setuptools rather than one
	# fetched into a fresh build environment per distribution: a quarter of the set-up.
	$(BIN)/python -m pip install -q --no-build-isolation -c constraints.txt $(DISTRIBUTIONS)
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

# One worker more than the machine has cores (three on the 2-core CI machine): many tests
# wait on processes they start and on sockets, and the spare worker fills those waits.
# Work stealing evens out the slow tests.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
pytest: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The packages built, inspected (lintian) and installed on this machine for real: the
# appliance's upgraded, rolled back and purged, the console's started. Root; it changes
# the machine (a floki user, then nothing else once purged), so it is not part of
# `make test`; CI runs it after `make test` (.ci/run).
test-packages: setup
	$(BIN)/python -m pytest -n 2 --dist worksteal -m packages $(PYTEST_ARGS)

# The inner loop: everything but the product-level tests (docs/development.md).
test-quick: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not product"

bench: setup
	$(BIN)/python -m bench
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m floki_console.bench

# The installable products, in packaging/dist/: the appliance's .deb (docs/operations.md,
# "Install on an appliance"), the console's .deb and its one-folder build for staff PCs
# (docs/console-install.md); lintian checks both packages.
package: setup
	deb=$$($(BIN)/python packaging/deb/build.py | tail -n 1) && \
	  lintian --fail-on error,warning -X binaries/spelling "$$deb"
	deb=$$($(BIN)/python packaging/console/build_deb.py | tail -n 1) && \
	  lintian --fail-on error,warning -X binaries/spelling "$$deb"
	$(BIN)/python packaging/console/build_pyinstaller.py

# The desktop console; it finds appliances on the LAN or takes an address.
console: setup
	$(BIN)/floki-console

clean:
	rm -rf $(VENV) build *.egg-info
