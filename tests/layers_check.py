#!/usr/bin/env python3
"""layers_check.py: the include graph of pipegrid's libraries follows the layers.

  layers_check.py SOURCE_ROOT LAYERS_FILE

LAYERS_FILE is pg_layers.txt, written by cmake/layers.cmake: one line per
library, "name | folders | every library below it". Every #include "..."
of every C/CUDA source and header in those folders must name a file of its
own library or of a library below it, and the graph between folders must
have no cycle. Prints each offending include as FILE:LINE and exits 1;
exits 0 with a one-line summary otherwise. Standard library only, so any
python3 runs it."""
import os
import re
import sys


def load_layers(path):
    libs = {}
    for line in open(path):
        if line.startswith("#") or "|" not in line:
            continue
        name, dirs, below = (p.strip() for p in line.split("|"))
        libs[name] = (dirs.split(), set(below.split()))
    return libs


def owner(path, libs):
    """The library whose folder holds `path` most specifically, or None."""
    best, depth = None, -1
    for name, (dirs, _) in libs.items():
        for d in dirs:
            if os.path.dirname(path) == d and len(d) > depth:
                best, depth = name, len(d)
    return best


def find_cycle(edges):
    """A cycle in {node: set(nodes)} as a list, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if not state.get(n):
            c = visit(n)
            if c:
                return c
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: layers_check.py SOURCE_ROOT LAYERS_FILE")
    root, layers = sys.argv[1], sys.argv[2]
    libs = load_layers(layers)
    bad, folder_edges, n_inc = [], {}, 0
    for name, (dirs, below) in libs.items():
        for d in dirs:
            for f in sorted(os.listdir(os.path.join(root, d))):
                if not re.search(r"\.(c|h|cu)$", f):
                    continue
                src = os.path.join(d, f)
                for i, line in enumerate(open(os.path.join(root, src)), 1):
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if not m:
                        continue
                    n_inc += 1
                    target = owner(m.group(1), libs)
                    if target is None:
                        if not os.path.exists(os.path.join(root, m.group(1))):
                            bad.append(f"{src}:{i}: includes \"{m.group(1)}\", which is no "
                                       "root-relative path of a library's header")
                        continue
                    folder_edges.setdefault(d, set())
                    if os.path.dirname(m.group(1)) != d:
                        folder_edges[d].add(os.path.dirname(m.group(1)))
                    if target != name and target not in below:
                        bad.append(f"{src}:{i}: {name} includes \"{m.group(1)}\" of {target}, "
                                   f"which is not below it (below {name}: "
                                   f"{' '.join(sorted(below)) or 'nothing'})")
    cycle = find_cycle(folder_edges)
    if cycle:
        bad.append("folders include each other in a cycle: " + " -> ".join(cycle))
    for b in bad:
        print(b)
    if bad:
        return 1
    print(f"layers: {n_inc} includes in {len(folder_edges)} folders of {len(libs)} libraries "
          "follow the layers; no cycle between folders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
