# Two commands for a new user: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: all build test test-system lint fmt demo venv clean release check-iam bench bench-suite bench-trust deb deb-tools soak

all: build

# The Python venv with the pinned emulator (moto) for tests and the demo.
venv: $(STAMP)
$(STAMP): tests/requirements.txt
	@echo ">> creating $(VENV) with the pinned emulator (tests/requirements.txt)"
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	@touch $(STAMP)

build:
	cargo build --all-targets

# The whole test suite (scripts/test.sh), one progress line per suite: unit tests (selection,
# config, serials, adapters on aws-smithy-mocks, paused-time verification), end-to-end tests on
# the emulator and the TLS edge, and the system tests (systemd in a container, the Debian
# package, the ECS task) where this machine has their tools: otherwise they are reported as
# skipped, by name, with how to run them. Under CI=true a missing tool fails instead. The venv
# is made beside the Rust build (scripts/test.sh).
test:
	@scripts/test.sh

# The system tests alone, each required: as root, with systemd-container, debootstrap,
# lintian and cargo-deb installed (`.ci/run` installs them).
test-system: deb-tools
	@scripts/test.sh --system

# The HA soak (tests/it/soak.rs), longer than the 20 s run in `make test`, with a fresh seed
# printed first; `make soak SOAK_SEED=N` replays a run. Full output in target/soak.log.
SOAK_SECONDS ?= 80
soak: venv
	@set -o pipefail; CCR_SOAK_SECONDS=$(SOAK_SECONDS) $(if $(SOAK_SEED),CCR_SOAK_SEED=$(SOAK_SEED)) \
	  cargo test --test it soak:: -- --nocapture 2>&1 | tee target/soak.log \
	  | grep -E -A 6 '^soak:|^test result|panicked at' | grep -v -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T|^--- daemon log' \
	  || { echo "soak failed: see target/soak.log"; exit 1; }

# fmt first (it takes a second); clippy before doc, whose dependency builds it reuses.
lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet

fmt:
	cargo fmt --all

# The IAM policy grants exactly the actions the code calls (also part of `make test`).
check-iam:
	cargo test --test it iam::

release:
	cargo build --release --bin cognito-cert-rotator
	@ls -l target/release/cognito-cert-rotator | awk '{printf "target/release/cognito-cert-rotator: %.1f MiB (%d bytes)\n", $$5/1048576, $$5}'

# The Debian package: target/debian/cognito-cert-rotator_<version>_<arch>.deb (release build).
# cargo-deb's dev build: 42 s on 2 cores instead of its release build's 86 s (74 s of CPU
# instead of 162), and as fast at packaging: its manifest builds the compressors optimised in
# dev builds too (its release build is only opt-level 1).
CARGO_DEB_VERSION := 3.8.0
deb-tools:
	@command -v cargo-deb >/dev/null || CARGO_PROFILE_DEV_DEBUG=0 cargo install cargo-deb --version $(CARGO_DEB_VERSION) --locked --debug
deb: deb-tools
	cargo deb
	@ls target/debian/*.deb

demo: venv
	@scripts/demo.sh

# Scale benchmark (not a test): N certificates, D domains, one `plan` pass of the release
# binary; prints API calls by operation, wall time, CPU time and peak RSS. Then discovery over
# accounts and regions, and D targets of the four consumer kinds over 4 regions
# (bench/consumers.py: calls against the floor and a naive script).
BENCH_CERTS ?= 2000
BENCH_DOMAINS ?= 200
BENCH_ACCOUNTS ?= 20
BENCH_REGIONS ?= 4
bench: venv release
	$(VENV)/bin/python bench/bench.py --binary target/release/cognito-cert-rotator --certs $(BENCH_CERTS) --domains $(BENCH_DOMAINS)
	$(VENV)/bin/python bench/discover.py --binary target/release/cognito-cert-rotator --accounts $(BENCH_ACCOUNTS) --regions $(BENCH_REGIONS)
	$(VENV)/bin/python bench/consumers.py --binary target/release/cognito-cert-rotator --targets $(BENCH_DOMAINS)

# What the integration suite costs once built: wall time and the whole machine's busy CPU
# (the forked emulators' included), RUNS times at THREADS test threads (bench/suite.sh).
bench-suite: venv
	@bench/suite.sh

# What a damaged state file, a noisy hook and an alias bomb cost the release binary (issue 28's
# figures): peak RSS with a hook printing 400 MB, the time to refuse the bomb, the state's hash.
bench-trust: venv release
	$(VENV)/bin/python bench/trust.py --binary target/release/cognito-cert-rotator

clean:
	cargo clean
	rm -rf $(VENV)
