#!/usr/bin/env bash
# The engine's integration tests (engine/tests) again, on the epoll driver:
# io_uring is unavailable under many container seccomp profiles, and the
# engine falls back to epoll there, so both drivers must pass the same suite.
# `cargo test --workspace` (run first by ./run-tests) covers the default
# driver; here RINGCAST_TEST_DRIVER=epoll makes every in-process server and
# every spawned binary run on epoll (the harness checks /metrics says so).
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
RINGCAST_TEST_DRIVER=epoll exec cargo test -p ringcast --tests
