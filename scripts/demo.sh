#!/usr/bin/env bash
# `make demo`: a real rotation against a local AWS emulator and a local TLS edge.
#
# Starts the patched moto server and the edge on 127.0.0.1, seeds a user pool whose custom
# domain and a CloudFront distribution that each sit on a certificate that expires in 20 days,
# plus newer ones, then runs the binary exactly as an operator would: validate, plan,
# once --wait, once again, and discover.
# Everything is torn down on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
BIN=target/debug/cognito-cert-rotator
DEMO="$(mktemp -d "${TMPDIR:-/tmp}/ccr-demo.XXXXXX")"
EMU_PID=""

cleanup() {
    if [[ -n "$EMU_PID" ]]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
    rm -rf "$DEMO"
}
trap cleanup EXIT

# Bold headings for a person at a terminal; plain text when the output is redirected to a log.
if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }

step "Building (debug; the first build takes a few minutes on 2 cores)"
cargo build --quiet --bin cognito-cert-rotator

step "Starting the AWS emulator and the TLS edge on 127.0.0.1"
# The edge keeps serving the old certificate for 8 s after the swap (CloudFront's up-to-an-hour
# distribution, shortened), and Cognito reports UPDATING for 4 s.
"$PY" tests/support/emulator.py --edge-delay 8 --updating-seconds 4 >"$DEMO/ready.json" 2>"$DEMO/emulator.log" </dev/null &
EMU_PID=$!
for _ in $(seq 1 100); do [[ -s "$DEMO/ready.json" ]] && break; sleep 0.1; done
if [[ ! -s "$DEMO/ready.json" ]]; then
    echo "the emulator did not start; its log:" >&2; cat "$DEMO/emulator.log" >&2; exit 1
fi
ENDPOINT=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$DEMO/ready.json")
EDGE=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["edge"])' "$DEMO/ready.json")
echo "AWS endpoint $ENDPOINT, TLS edge $EDGE"

# The binary only sees standard AWS settings: it does not know this is an emulator.
export AWS_ENDPOINT_URL="$ENDPOINT" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
export AWS_REGION=us-west-2 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE || true

step "Seeding: a CA, seven certificates, a user pool's custom domain and a distribution on old ones"
"$PY" tests/support/demo_seed.py "$ENDPOINT" "$EDGE" "$DEMO"
CONFIG="$DEMO/config.yaml"
echo; cat "$CONFIG"

step "cognito-cert-rotator validate -c config.yaml"
"$BIN" validate -c "$CONFIG"

step "cognito-cert-rotator plan -c config.yaml   (read-only)"
"$BIN" plan -c "$CONFIG"

step "cognito-cert-rotator once --wait -c config.yaml   (swap, then verify Cognito + the edge)"
"$BIN" once --wait -c "$CONFIG"

step "cognito-cert-rotator once -c config.yaml   (again: nothing to do, no write)"
"$BIN" once -c "$CONFIG"

step "cognito-cert-rotator discover --regions eu-central-1 -c config.yaml   (read-only: every consumer)"
"$BIN" discover --regions eu-central-1 -c "$CONFIG"

step "Done: both were rotated onto their new certificates and the edge was verified serving them."
