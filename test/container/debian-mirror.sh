#!/usr/bin/env bash
# Print the Debian mirror this machine reaches: $DEBIAN_MIRROR if set, else the first plain
# "bookworm" entry of the host's apt sources (one-line or deb822 format), else
# deb.debian.org. Security/updates archives are not full mirrors, so they never count.
set -euo pipefail
SUITE=bookworm

host_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [opts] URI SUITE COMPONENTS...
    sed -E 's/\[[^]]*\]//' "$f" | awk -v s="$SUITE" '$1=="deb" && $3==s {print $2; exit}'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas are separated by blank lines (RS="" = paragraph mode).
    awk -v s="$SUITE" 'BEGIN{RS=""; FS="\n"}
      {
        types=""; uris=""; suites=""; enabled="yes"
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/)   { types = $i }
          if ($i ~ /^URIs:/)    { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/)  { suites = " " $i " " }
          if ($i ~ /^Enabled:[ \t]*no/) { enabled = "no" }
        }
        if (enabled == "yes" && types ~ /(^|[ \t])deb([ \t]|$)/ && suites ~ ("[ \t]" s "[ \t]")) {
          split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' "$f"
  done
}

if [ -n "${DEBIAN_MIRROR:-}" ]; then
  echo "$DEBIAN_MIRROR"
  exit 0
fi
m=$(host_mirror | grep -E '^https?://' | head -n1 || true)
echo "${m:-http://deb.debian.org/debian}"
