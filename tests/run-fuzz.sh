#!/usr/bin/env bash
# Bounded fuzzing of ringcast-protocol: the handshake parser, the frame
# decoder and decode + message assembly, with cargo-fuzz (libFuzzer).
#
# The machine has only stable Rust; cargo-fuzz needs nightly flags
# (-Zsanitizer, -Cpasses=sancov), which RUSTC_BOOTSTRAP=1 unlocks on stable.
# Each target runs FUZZ_SECONDS (default 20) from the committed seeds; any
# crash, panic or sanitizer report fails the script, and the input that
# caused it is left in protocol/fuzz/artifacts/<target>/ (turn it into a
# unit test in protocol/ before fixing).
#
# When the fuzzing toolchain itself cannot be had (cargo-fuzz does not
# install, or there is no C++ compiler for libFuzzer), the script says why
# and runs the randomized property tests with many more cases instead, so
# the random coverage never silently disappears. A fuzz target that does not
# compile is a failure, not a reason to fall back.
set -euo pipefail
cd "$(dirname "$0")/../protocol/fuzz"

seconds="${FUZZ_SECONDS:-20}"
targets=(handshake frame_decoder message_assembler)

fallback() {
    echo "run-fuzz: cannot fuzz here: $1" >&2
    echo "run-fuzz: running the property tests with 20000 cases each instead" >&2
    cd ..
    PROPTEST_CASES=20000 cargo test --release -p ringcast-protocol --test properties
    exit $?
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run-fuzz: installing cargo-fuzz"
    cargo install --locked cargo-fuzz || fallback "cargo install cargo-fuzz failed"
fi
command -v c++ >/dev/null 2>&1 || fallback "no C++ compiler to build libFuzzer"

export RUSTC_BOOTSTRAP=1
cargo fuzz build

for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "run-fuzz: $target for ${seconds}s"
    # libFuzzer's own output is long; keep it in a log and show the tail.
    log="$(mktemp)"
    if ! cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "run-fuzz: $target FAILED; the crashing input is in protocol/fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units)' "$log" || tail -n 3 "$log"
    rm -f "$log"
done
echo "run-fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
