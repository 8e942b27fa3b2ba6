#!/usr/bin/env bash
# `make test`: the whole suite, one progress line per suite.
#
# The unit and integration tests run everywhere. The system tests (a real systemd in a
# container, the Debian package in a fresh Debian root, the ECS task) are the `#[ignore]`d
# tests of tests/it/; each says what it needs in its ignore reason ("needs root and
# systemd-nspawn; ..."). They run when this machine has what they need, and are otherwise
# reported as skipped, by name, with how to run them. Under CI=true (the project's CI) a
# missing tool fails instead: nothing is skipped silently there.
#
#   scripts/test.sh            unit, integration and (where possible) system tests
#   scripts/test.sh --system   the system tests only, each required (`make test-system`)
#   TEST_WITHOUT="root systemd-nspawn" scripts/test.sh   as on a machine without those
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

system_only=false
[ "${1:-}" = "--system" ] && system_only=true
strict=false
{ [ -n "${CI:-}" ] || $system_only; } && strict=true

started=$(date +%s)
progress() { printf '\n== %s [%ds]\n' "$*" $(( $(date +%s) - started )); }

passed=0 failed=0 skipped=0
skipped_lines=()
failed_suites=()

# Run one `cargo test` invocation, echo its output, and add up its "test result" lines.
run_suite() {
    local name=$1; shift
    local log
    log=$(mktemp)
    cargo test "$@" 2>&1 | tee "$log"
    local code=${PIPESTATUS[0]}
    local p f
    p=$(grep -E '^test result: ' "$log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s += $1} END {print s + 0}')
    f=$(grep -E '^test result: ' "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s += $1} END {print s + 0}')
    passed=$(( passed + ${p:-0} ))
    failed=$(( failed + ${f:-0} ))
    if [ "$code" -ne 0 ]; then
        failed_suites+=("$name")
        # A build failure or a crash counts one failure even without a result line.
        [ "${f:-0}" -eq 0 ] && failed=$(( failed + 1 ))
    fi
    rm -f "$log"
}

# Whether this machine has `need` (a word of an ignore reason). TEST_WITHOUT="root lintian"
# pretends some are missing, to see what a contributor's machine does.
have() {
    case " ${TEST_WITHOUT:-} " in *" $1 "*) return 1 ;; esac
    case "$1" in
        root) [ "$(id -u)" = 0 ] ;;
        *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

# How to get what is missing, then run the system tests.
how_to() {
    local root=false packages=() deb=false
    for need in "$@"; do
        case "$need" in
            root) root=true ;;
            systemd-nspawn) packages+=(systemd-container) ;;
            systemd-analyze) packages+=(systemd) ;;
            setpriv) packages+=(util-linux) ;;
            cargo-deb) deb=true ;;
            *) packages+=("$need") ;;
        esac
    done
    local steps=()
    [ ${#packages[@]} -gt 0 ] && steps+=("apt-get install ${packages[*]}")
    $deb && steps+=("make deb-tools")
    if $root; then steps+=("sudo make test-system"); else steps+=("make test-system"); fi
    local IFS=';'
    echo "${steps[*]}" | sed 's/;/, then /g'
}

# "MODULE::FN|need need ..." for every #[ignore = "needs ..."] test of tests/it/.
system_tests() {
    for file in tests/it/*.rs; do
        awk -v module="$(basename "$file" .rs)" '
            /#\[ignore = "needs / {
                needs = $0
                sub(/.*#\[ignore = "needs /, "", needs)
                sub(/;.*/, "", needs)
                gsub(/,| and /, " ", needs)
                next
            }
            needs != "" && /fn [a-z_0-9]+\(/ {
                name = $0
                sub(/.*fn /, "", name)
                sub(/\(.*/, "", name)
                print module "::" name "|" needs
                needs = ""
            }' "$file"
    done
}

# The Python venv (the emulator) is made beside the Rust build: pip waits on the disk and the
# registry more than on the CPU. Only the integration and system tests need it.
mkdir -p target
make -s venv > target/venv.log 2>&1 &
venv_pid=$!
venv_ready() {
    [ -z "$venv_pid" ] && return 0
    wait "$venv_pid"
    local code=$?
    venv_pid=""
    [ "$code" -eq 0 ] && return 0
    cat target/venv.log
    echo "test: creating the Python venv failed (see above); 0 passed, 1 failed"
    exit 1
}

if ! $system_only; then
    progress "building the tests (once, for every suite)"
    if ! cargo test --all-targets --no-run; then
        echo "test: 0 passed, 1 failed"
        exit 1
    fi
    progress "unit tests (decisions, config, adapters on aws-smithy-mocks, paused time)"
    run_suite unit --lib --bins
    # Most integration tests wait on processes, the emulator and verification windows, not on
    # the CPU, and each has its own emulator, ports and folders: 6 at a time halve the suite's
    # time on 2 cores (INTEGRATION_THREADS to change it).
    progress "integration tests (the binary against the emulator and the TLS edge)"
    venv_ready
    run_suite integration --test it -- --test-threads "${INTEGRATION_THREADS:-6}"
fi

progress "system tests (systemd in a container, the Debian package, the ECS task)"
runnable=()
while IFS='|' read -r test needs; do
    [ -n "$test" ] || continue
    missing=()
    for need in $needs; do
        have "$need" || missing+=("$need")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        runnable+=("$test")
    elif $strict; then
        echo "test $test ... FAILED: needs ${missing[*]}, missing on this machine (.ci/run installs them)"
        failed=$(( failed + 1 ))
        failed_suites+=("system")
    else
        skipped=$(( skipped + 1 ))
        skipped_lines+=("  skipped $test: needs ${missing[*]}; to run it: $(how_to "${missing[@]}")")
    fi
done < <(system_tests)
if [ ${#runnable[@]} -gt 0 ]; then
    venv_ready
    run_suite system --test it -- --ignored --exact "${runnable[@]}"
fi

progress "done"
if [ ${#skipped_lines[@]} -gt 0 ]; then
    echo "system tests skipped on this machine (their tools are missing):"
    printf '%s\n' "${skipped_lines[@]}"
fi
[ ${#failed_suites[@]} -gt 0 ] && echo "failed: ${failed_suites[*]}"
echo "test: ${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
