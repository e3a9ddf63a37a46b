#!/usr/bin/env python3
"""Picks, from a libFuzzer merge control file, the few inputs worth committing to a corpus.

    fuzz_keep.py CONTROL_FILE BUDGET_BYTES DEST_DIR

The control file comes from `TARGET -merge=1 -use_counters=0 -merge_control_file=CONTROL_FILE
CORPUS NEW...`: the files of CORPUS first, then the new ones, each with the edges it reaches.
A whole merge keeps every input that reaches one more edge (thousands of small JSON variants,
megabytes); this keeps the inputs that reach the most edges the corpus does not, per byte,
until BUDGET_BYTES are spent or no input adds MIN_EDGES more, and copies them to DEST_DIR
named by their SHA-1 (as libFuzzer names what it keeps). Used by scripts/fuzz.sh
(CORRAL_FUZZ_KEEP=1).
"""

import hashlib
import os
import shutil
import sys

# An input kept must reach at least this many edges no kept input reaches.
MIN_EDGES = 3
# Per-file cost in bytes on top of its size: prefer one input with many new edges to many
# inputs with one each.
FILE_COST = 200


def read_control(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    count, first = int(lines[0]), int(lines[1])
    files = lines[2 : 2 + count]
    edges, sizes = {}, {}
    for line in lines[2 + count :]:
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "STARTED":
            sizes[int(parts[1])] = int(parts[2])
        elif parts and parts[0] == "COV":
            edges[int(parts[1])] = set(map(int, parts[2:]))
    return files, first, edges, sizes


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    control, budget, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    files, first, edges, sizes = read_control(control)
    covered = set()
    for i in range(first):
        covered |= edges.get(i, set())
    before = len(covered)
    reachable = set(covered)
    for i in range(first, len(files)):
        reachable |= edges.get(i, set())
    candidates = [i for i in range(first, len(files)) if i in edges]
    spent, kept = 0, []
    while candidates:
        best = max(
            candidates,
            key=lambda i: len(edges[i] - covered) / (sizes.get(i, 0) + FILE_COST),
        )
        gain = len(edges[best] - covered)
        size = sizes.get(best, 0)
        if gain < MIN_EDGES or spent + size > budget:
            break
        candidates.remove(best)
        covered |= edges[best]
        spent += size
        kept.append(best)
    os.makedirs(dest, exist_ok=True)
    for i in kept:
        with open(files[i], "rb") as f:
            name = hashlib.sha1(f.read()).hexdigest()
        shutil.copyfile(files[i], os.path.join(dest, name))
    print(
        f"kept {len(kept)} inputs ({spent} bytes): edges {before} -> {len(covered)} "
        f"of the {len(reachable)} the new inputs reach"
    )


if __name__ == "__main__":
    main()
