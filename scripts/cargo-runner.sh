#!/bin/sh
# Cargo's runner for this package (see .cargo/config.toml): `cargo run --bin hello-map`
# typed by a normal user runs the program under sudo, since loading BPF programs needs
# root (or CAP_BPF + CAP_PERFMON). As root, or where sudo is missing, the program runs
# as it is (and says itself what privilege it lacks). Test executables (target/*/deps/)
# are never elevated: unit tests need no privilege, privileged tests check for it.
exe=$1
case "$exe" in
*/deps/*) exec "$@" ;;
esac
if [ "$(id -u)" = 0 ]; then
	exec "$@"
fi
if command -v sudo >/dev/null 2>&1; then
	exec sudo -- "$@"
fi
echo "cargo-runner: not root and no sudo: running ${exe##*/} as $(id -un 2>/dev/null || id -u)" >&2
exec "$@"
