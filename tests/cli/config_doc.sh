#!/usr/bin/env bash
# config_doc.sh: docs/config.md documents every key of the key table
# (runtime/config/config.c), as `pipegrid train --help` lists them, and the
# effective configuration (--print-config) has each section once.
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
doc=../docs/config.md
keys=$("$PIPEGRID" train --help | sed -n 's/^  \([a-z_]*\.[a-z_]*\) .*/\1/p')
n=$(echo "$keys" | wc -l)
[ "$n" -ge 50 ] || fail "only $n keys in train --help"
missing=0
for k in $keys; do
  grep -q "\`$k\`" "$doc" || { echo "docs/config.md lacks \`$k\`"; missing=$((missing + 1)); }
done
[ "$missing" -eq 0 ] || fail "$missing of $n keys undocumented"
sections=$("$PIPEGRID" train --print-config | grep '^\[')
[ "$(echo "$sections" | sort | uniq -d)" = "" ] || fail "a section printed twice: $sections"
echo "config_doc: all $n keys documented; $(echo "$sections" | wc -l) sections, each once"
