#!/usr/bin/env bash
# Register qemu-user for a foreign architecture with the kernel's binfmt_misc, and prove
# that the emulator the kernel actually runs is recent enough.
#
#   test/container/qemu-binfmt.sh aarch64|x86_64
#
# Why the proof: the entry needs the F (fix-binary) flag so it works inside containers
# whose rootfs has no qemu; with F the kernel opens the emulator once, at registration. After
# an upgrade (qemu 7.2 -> 10 from bookworm-backports) the interpreter path is unchanged but
# the kernel keeps running the old, deleted file until the entry is registered again. So the
# check executes a 64-byte file carrying the architecture's ELF header with QEMU_VERSION=1:
# qemu-user prints its version and exits before it loads anything.
#
# qemu >= 10 because 7.2 lacks the openat2 system call, which OpenClaw needs.
# The emulator itself is installed by test/container/prepare-host.sh.
set -euo pipefail

log() { printf 'qemu-binfmt: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

MIN_MAJOR=10
NAME=${1:?usage: qemu-binfmt.sh aarch64|x86_64}
case "$NAME" in aarch64 | x86_64) ;; *) die "unsupported architecture '$NAME'" ;; esac

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -n -E "$0" "$@"
fi

CONF=/usr/lib/binfmt.d/qemu-$NAME.conf
ENTRY=/proc/sys/fs/binfmt_misc/qemu-$NAME
[ -f "$CONF" ] || die "$CONF missing: run test/container/prepare-host.sh (installs qemu-user-binfmt)"
# :name:type:offset:magic:mask:interpreter:flags (the magic's colons are \x3a-escaped)
IFS=: read -r _ _ _ _ MAGIC _ INTERP FLAGS < <(grep -v '^#' "$CONF" | grep -m1 .)
case "$FLAGS" in *F*) ;; *) die "$CONF registers without the F flag ($FLAGS)" ;; esac

if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi

PROBE_DIR=$(mktemp -d)
trap 'rm -rf "$PROBE_DIR"' EXIT
PROBE=$PROBE_DIR/probe
{ printf '%b' "$MAGIC"; head -c 64 /dev/zero; } | head -c 64 >"$PROBE"
chmod +x "$PROBE"

# Major version of the emulator the kernel runs for this architecture; 0 if none runs.
running_major() {
  local out
  out=$(QEMU_VERSION=1 "$PROBE" 2>/dev/null | head -n1) || true
  [[ $out =~ ^qemu-$NAME\ version\ ([0-9]+)\. ]] && echo "${BASH_REMATCH[1]}" || echo 0
}

# Parallel callers (test workers) must not unregister each other's fresh entry.
exec 9>/run/sandbox-supervisor-binfmt.lock
flock 9

if [ -e "$ENTRY" ] && grep -q '^flags:.*F' "$ENTRY" && grep -qxF "interpreter $INTERP" "$ENTRY" &&
  [ "$(running_major)" -ge "$MIN_MAJOR" ]; then
  exit 0
fi
[ -e "$ENTRY" ] && echo -1 >"$ENTRY"
log "registering $CONF"
grep -v '^#' "$CONF" | grep -m1 . >/proc/sys/fs/binfmt_misc/register
major=$(running_major)
[ "$major" -ge "$MIN_MAJOR" ] ||
  die "the kernel runs qemu-$NAME major version $major, need >= $MIN_MAJOR ($INTERP): run test/container/prepare-host.sh"
