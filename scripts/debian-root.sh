#!/usr/bin/env bash
# A minimal Debian bookworm with systemd, for the package test (tests/it/package.rs): made
# once with debootstrap and kept in target/debootstrap/bookworm. Needs root and debootstrap.
# Safe to run twice at once (the second waits for the first): `.ci/run` starts it early, in
# the background, so the package test finds it made.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/debootstrap/bookworm
mkdir -p target/debootstrap
exec 9>target/debootstrap/.lock
flock 9
if [ -e "$dir/usr/lib/systemd/systemd" ]; then
    echo "$dir"
    exit 0
fi
tmp="$dir.tmp"
rm -rf "$tmp"
debootstrap --variant=minbase --include=systemd,systemd-sysv,ca-certificates \
    bookworm "$tmp" http://deb.debian.org/debian >&2
mv "$tmp" "$dir"
echo "$dir"
