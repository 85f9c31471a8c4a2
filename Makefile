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
# make dist / scripts/build-static.sh: musl for both architectures (musl-dev:arm64
# through multiarch, with its aarch64-linux-musl-gcc wrapper), the aarch64 cross gcc
# and kernel headers, what libbpf-sys needs to build libelf from its vendored
# elfutils, and qemu-user to start the aarch64 files here.
APT_PACKAGES += musl-tools musl-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
	linux-libc-dev autoconf automake libtool autopoint gettext bison flex gawk \
	qemu-user-static
# make vmtest: the arm64 guests (qemu-system-aarch64; busybox-static:arm64 and the
# kernels come through vmtest/fetch-kernel.sh's private apt configuration).
APT_PACKAGES += qemu-system-arm
RUST_TARGETS := x86_64-unknown-linux-musl aarch64-unknown-linux-musl
DIST_ARCHES := x86_64 aarch64
RUN_ARGS ?=

# The Debian packages (make deb) ship dist/<arch>/execsnoop (static: no Depends); the
# generated man page and completions go to DOCS_DIR.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
DOCS_DIR := target/docs

.PHONY: deps build run test lint test-host unit vmlinux vmtest bench clippy fmt dist dist-check dist-tests man deb

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		if grep -q ':arm64' <<<"$$missing" && ! dpkg --print-foreign-architectures | grep -qx arm64; then \
			echo "deps: dpkg --add-architecture arm64 (for musl-dev:arm64)"; \
			$(SUDO) dpkg --add-architecture arm64; \
		fi; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "deps: cargo not found: install Rust (https://rustup.rs)"; exit 1; }
	@for c in rustfmt clippy; do \
		$(CARGO) $${c/rustfmt/fmt} --version >/dev/null 2>&1 || { \
			echo "deps: adding the rustup component $$c"; rustup component add $$c; }; \
	done
	@installed=$$(rustup target list --installed 2>/dev/null); \
	for t in $(RUST_TARGETS); do \
		grep -qx $$t <<<"$$installed" || { echo "deps: adding the rustup target $$t"; rustup target add $$t; }; \
	done

build: deps
	$(CARGO) build --release --bins

# Release files: every program as a fully static (musl) executable for each arch in
# dist/<arch>/, and dist/SHA256SUMS. scripts/build-static.sh is the recipe and fails
# on any file that is not static; each execsnoop must then start (--version; the
# aarch64 one under qemu-aarch64).
dist: deps
	rm -rf dist
	@for a in $(DIST_ARCHES); do nice scripts/build-static.sh $$a --dist dist/$$a || exit 1; done
	@$(MAKE) --no-print-directory dist-check
	cd dist && sha256sum */* > SHA256SUMS
	@echo "dist: $$(ls dist/*/* | wc -l) static files for $(DIST_ARCHES), dist/SHA256SUMS"

# Every file in dist/<arch>/ static, and each execsnoop starts.
dist-check:
	@scripts/build-static.sh --check dist/*/*
	@for a in $(DIST_ARCHES); do \
		run=; [ $$a = "$$(uname -m)" ] || run=qemu-$$a-static; \
		v=$$($$run dist/$$a/execsnoop --version) || { echo "dist: dist/$$a/execsnoop --version failed"; exit 1; }; \
		echo "dist: $$a: $$v"; \
	done

# The programs, examples and integration test executables, static, for one arch
# (ARCH=x86_64|aarch64, also x86|arm64; default this machine's), listed in
# target/static-<arch>.list (vmtest/run.sh reads it).
dist-tests: deps
	nice scripts/build-static.sh $(patsubst x86,x86_64,$(patsubst arm64,aarch64,$(ARCH))) --tests

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
test-host: deps deb
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

# dist/execsnoop_<version>_<amd64|arm64>.deb: the static execsnoop of each
# architecture, its man page, completions and systemd unit (packaging/).
deb: man dist
	@for a in $(DIST_ARCHES); do \
		case $$a in x86_64) d=amd64 ;; aarch64) d=arm64 ;; *) echo "deb: no Debian name for $$a"; exit 1 ;; esac; \
		packaging/build-deb.sh dist/$$a/execsnoop $$d $(VERSION) $(DOCS_DIR) dist || exit 1; \
	done
	cd dist && sha256sum */* *.deb > SHA256SUMS

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
