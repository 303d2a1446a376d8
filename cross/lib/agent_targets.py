#!/usr/bin/env python3
"""Prints the targets the `kinglet` executable is built from, dependencies first, one per
line: "<kind> <name> <path> <sources...>". Reads `swift package describe --type json` on
stdin, so Package.swift stays the one list of the agent's modules."""
import json
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "kinglet"
targets = {t["name"]: t for t in json.load(sys.stdin)["targets"]}
KIND = {"SwiftTarget": "swift", "ClangTarget": "c", "SystemLibraryTarget": "system"}

ordered, seen = [], set()


def visit(name, trail=()):
    if name in seen:
        return
    if name in trail:
        sys.exit(f"agent_targets: dependency cycle through {name}")
    if name not in targets:
        sys.exit(f"agent_targets: {name} is not a target of this package")
    for dependency in targets[name].get("target_dependencies", []):
        visit(dependency, trail + (name,))
    seen.add(name)
    ordered.append(targets[name])


visit(ROOT)
for target in ordered:
    kind = KIND.get(target["module_type"])
    if kind is None:
        sys.exit(f"agent_targets: {target['name']} is a {target['module_type']}, which cross/build cannot build")
    print(" ".join([kind, target["name"], target["path"]] + target.get("sources", [])))
