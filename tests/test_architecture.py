"""The architecture holds: the layers' import-linter contracts, no import cycle anywhere, and the job names the
jobs port enqueues are the functions RQ will find."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import grimp

from receptionist import jobqueue

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept():
    """The layers (pyproject.toml `[tool.importlinter]`): no module imports one from a layer above it, the
    scoring maths imports nothing of the product, and Flask stays at the web edge."""
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run(
        [str(lint), "--config", "pyproject.toml", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_the_cycle_finder_finds_a_cycle():
    """The check itself: a two-module loop and a three-module loop are found, a chain is not."""
    graph = grimp.ImportGraph()
    for a, b in (
        ("x.a", "x.b"),
        ("x.b", "x.a"),
        ("x.c", "x.d"),
        ("x.d", "x.e"),
        ("x.e", "x.c"),
        ("x.f", "x.a"),
    ):
        graph.add_import(importer=a, imported=b)
    assert sorted(cycles(graph)) == [["x.a", "x.b"], ["x.c", "x.d", "x.e"]]


def test_no_module_of_the_product_is_part_of_an_import_cycle():
    """Imports that run (type-checking-only ones aside) form no cycle, between packages or within one."""
    graph = grimp.build_graph("receptionist", "scoring", exclude_type_checking_imports=True)
    assert cycles(graph) == []


def test_every_job_name_resolves_to_a_job_function():
    """RQ imports `receptionist.jobs.<fn>` in the worker: each name the port enqueues must be there."""
    names = [getattr(jobqueue, n) for n in dir(jobqueue) if n.isupper() and n != "QUEUES"]
    assert names
    for name in names:
        module, _, function = name.rpartition(".")
        assert module == "receptionist.jobs"
        assert callable(getattr(importlib.import_module(module), function))
