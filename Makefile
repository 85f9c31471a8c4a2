# One command sets up and runs (`make run`), one sets up and passes all tests
# (`make test`). Both install what they need first (`deps`).

SHELL := /bin/bash
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
APT_PACKAGES := clang llvm libelf-dev zlib1g-dev pkg-config make gcc bpftool \
	busybox-static qemu-system-x86 kmod cpio zstd gzip binutils file \
	debian-archive-keyring ca-certificates \
	debootstrap systemd systemd-container man-db dpkg-dev strace
RUN_ARGS ?=

# The Debian package (make deb): which execsnoop it ships (a static one: the .deb has
# no Depends), for which Debian architecture, and where the generated man page and
# completions go.
DEB_BIN ?= target/x86_64-unknown-linux-gnu/release/execsnoop
DEB_ARCH ?= $(shell dpkg --print-architecture)
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
DOCS_DIR := target/docs

.PHONY: deps build run test lint test-host unit vmlinux vmtest bench clippy fmt man deb

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "deps: cargo not found: install Rust (https://rustup.rs)"; exit 1; }
	@for c in rustfmt clippy; do \
		$(CARGO) $${c/rustfmt/fmt} --version >/dev/null 2>&1 || { \
			echo "deps: adding the rustup component $$c"; rustup component add $$c; }; \
	done

build: deps
	$(CARGO) build --release --bins

# The main job: trace execs on this machine (Ctrl-C to stop).
run: build
	$(SUDO) ./target/release/execsnoop $(RUN_ARGS)

# Everything: format and lint, unit tests, privileged tests on this host, then the
# kernel matrix.
test: deps lint test-host vmtest

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test --lib --bins

# Privileged tests read the one global trace_pipe: one test at a time.
test-host: deps
	$(CARGO) build --bins --examples
	$(SUDO) env "PATH=$$PATH" $(CARGO) test --all-targets -- --test-threads=1
	$(SUDO) env "PATH=$$PATH" $(CARGO) test --test soak -- --ignored --nocapture

vmtest: deps
	@if [ -x vmtest/run.sh ]; then ./vmtest/run.sh $(KERNELS); else echo "vmtest: harness not present yet"; fi

bench: deps
	@if [ -x bench/run.sh ]; then ./bench/run.sh; else echo "bench: not present yet"; exit 1; fi

# execsnoop.8 and the bash, zsh and fish completions, from the clap definitions.
man: deps
	$(CARGO) run --quiet --example gen-execsnoop-docs -- $(DOCS_DIR)

# dist/execsnoop_<version>_<debarch>.deb: the static execsnoop, its man page,
# completions and systemd unit (packaging/).
deb: man
	packaging/build-deb.sh $(DEB_BIN) $(DEB_ARCH) $(VERSION) $(DOCS_DIR) dist

# Regenerate vmlinux.h from the running kernel's BTF (note which kernel in vmlinux/README.md).
vmlinux:
	@test -r /sys/kernel/btf/vmlinux || { echo "vmlinux: this kernel has no /sys/kernel/btf/vmlinux"; exit 1; }
	mkdir -p vmlinux/$(ARCH)
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h
	@echo "vmlinux/$(ARCH)/vmlinux.h regenerated from $$(uname -r)"

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
