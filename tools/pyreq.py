"""pyreq.py: the check every project Python tool makes before it starts.

    sys.path.insert(0, <repo>/tools); from pyreq import require
    require(__file__, "matplotlib", "numpy")

The tools run under the project's virtual environment (.venv/, made by tools/deps.sh;
tools/py runs it). Under an interpreter that lacks one of the modules, require() prints one
line naming the missing modules, the interpreter and the command to run, and exits with
status 2: no traceback. It only looks the modules up (importlib.util.find_spec); it imports
nothing. Standard library only, so that it runs under any python3.
"""
import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def require(tool_file, *modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    tool = os.path.relpath(os.path.abspath(tool_file), ROOT)
    sys.stderr.write(f"{os.path.basename(tool)}: {', '.join(missing)} missing from "
                     f"{sys.executable}: run tools/deps.sh, then tools/py {tool}\n")
    sys.exit(2)
