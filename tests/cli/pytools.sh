#!/usr/bin/env bash
# pytools.sh: every Python tool of the repo that imports a module from outside
# the standard library, run by an interpreter that lacks it (a bare virtual
# environment), fails with exactly one line that names the command to run
# (tools/deps.sh, then tools/py TOOL), and no traceback; tools/py without the
# project's environment says the same in one line.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd ..
"$PG_PYTHON" -m venv --without-pip "$out/bare"

# the tools: .py files (outside build trees and virtual environments) whose
# imports reach beyond the standard library and the repo's own modules
"$PG_PYTHON" - >"$out/tools" <<'PY'
import ast, os, sys
local = set()
files = []
for d, subdirs, names in os.walk("."):
    subdirs[:] = [s for s in subdirs if not s.startswith((".", "build")) and s != "__pycache__"]
    for n in names:
        if n.endswith(".py"):
            files.append(os.path.join(d, n)[2:])
            local.add(n[:-3])
for f in sorted(files):
    mods = set()
    for node in ast.walk(ast.parse(open(f).read(), f)):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            mods.add(node.module.split(".")[0])
    if mods - set(sys.stdlib_module_names) - local:
        print(f)
PY
n=$(wc -l <"$out/tools")
[ "$n" -ge 3 ] || fail "expected at least 3 tools with third-party imports, found $n"
while read -r tool; do
  rc=0
  "$out/bare/bin/python" "$tool" --help >"$out/msg" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "$tool: exit 0 under a bare interpreter"
  [ "$(wc -l <"$out/msg")" -eq 1 ] || fail "$tool: not one line: $(cat "$out/msg")"
  grep -q "Traceback" "$out/msg" && fail "$tool: traceback"
  grep -q "missing from $out/bare/bin/python: run tools/deps.sh, then tools/py $tool\$" "$out/msg" ||
    fail "$tool: wrong message: $(cat "$out/msg")"
  echo "$tool: $(cat "$out/msg")"
done <"$out/tools"

rc=0
PIPEGRID_VENV=$out/none tools/py -c 'pass' >"$out/msg" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -l <"$out/msg")" -eq 1 ] &&
  grep -q "^tools/py: no Python environment at $out/none: run tools/deps.sh\$" "$out/msg" ||
  fail "tools/py without an environment: $(cat "$out/msg")"
echo "ok: $n tools"
