#!/usr/bin/env python3
"""Trust benchmark (not a test): the figures issue 28 asks for, on the binary a user runs.

1. Peak RSS of `once` whose on_failure hook prints 400 MB (the kernel's own count:
   getrusage(RUSAGE_CHILDREN).ru_maxrss of the waited-for binary; its hooks' processes are
   small), and how long its log is.
2. The time `validate` takes to refuse a 1 MiB file whose aliases expand to 1 GiB.
3. A damaged state file's sha256 before and after `once`, `plan`, `status`, `once --dry-run`
   and `forget`, with their exit codes.

The emulator (tests/support/emulator.py) stands in for AWS; the failing target's domain does
not exist, so on_failure runs.

usage: trust.py --binary target/release/cognito-cert-rotator
"""

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = "domains:\n  - domain: nothing.example.com\n    user_pool_id: us-east-1_abc\n"


def env(endpoint):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
             AWS_REGION="us-west-2", AWS_EC2_METADATA_DISABLED="true")
    return e


def noisy_hook(binary, endpoint, tmp):
    config = os.path.join(tmp, "noisy.yaml")
    with open(config, "w") as f:
        f.write("state_file: %s/noisy.json\nhooks:\n  timeout: 60s\n  on_failure: [/bin/sh, -c, "
                "'head -c 400000000 /dev/zero | tr \"\\0\" x; echo']\n%s" % (tmp, TARGET))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    run = subprocess.run([binary, "once", "-c", config], env=env(endpoint), capture_output=True)
    took = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("noisy hook (400 MB on stdout): exit %d in %.1fs, peak RSS %.1f MiB%s, log %d bytes"
          % (run.returncode, took, peak / 1024, "" if peak > before else " (at most)", len(run.stderr)))
    dropped = [l for l in run.stderr.decode(errors="replace").splitlines() if "hook output: dropped" in l]
    print("  " + (dropped[0].split("] ")[-1][-120:] if dropped else "no drop line!"))


def alias_bomb(binary, tmp):
    config = os.path.join(tmp, "bomb.yaml")
    with open(config, "w") as f:
        f.write("discovery:\n  manage_tagged:\n    k0: &big \"%s\"\n" % ("x" * (1 << 20)))
        for n in range(1, 1024):
            f.write("    k%d: *big\n" % n)
        f.write(TARGET)
    size = os.path.getsize(config)
    started = time.monotonic()
    run = subprocess.run([binary, "validate", "-c", config], capture_output=True)
    took = time.monotonic() - started
    print("alias bomb (%.1f MiB file, 1 GiB expanded): exit %d in %.0f ms: %s"
          % (size / 1048576, run.returncode, took * 1000, run.stderr.decode().strip()[:160]))


def damaged_state(binary, endpoint, tmp):
    config = os.path.join(tmp, "damaged.yaml")
    state = os.path.join(tmp, "damaged.json")
    with open(config, "w") as f:
        f.write("state_file: %s\n%s" % (state, TARGET))
    with open(state, "wb") as f:
        f.write(b'{\n  "version": 1,\n  "domains": {\n    "nothing.example.com": {\n      "failures": 3,\n      "denyl')
    digest = lambda: hashlib.sha256(open(state, "rb").read()).hexdigest()
    before = digest()
    codes = []
    for args in (["once"], ["plan"], ["status"], ["once", "--dry-run"], ["forget", "-c", config, "nothing.example.com"]):
        argv = [binary] + args + ([] if args[0] == "forget" else ["-c", config])
        codes.append("%s=%d" % (" ".join(args[:2] if args[0] != "forget" else args[:1]),
                                subprocess.run(argv, env=env(endpoint), capture_output=True).returncode))
    print("damaged state file: sha256 %s before, %s after; exits %s"
          % (before[:16], digest()[:16], ", ".join(codes)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    emu = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "support", "emulator.py")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        endpoint = json.loads(emu.stdout.readline())["endpoint"]
        with tempfile.TemporaryDirectory() as tmp:
            alias_bomb(args.binary, tmp)
            damaged_state(args.binary, endpoint, tmp)
            noisy_hook(args.binary, endpoint, tmp)
    finally:
        emu.kill()


if __name__ == "__main__":
    main()
