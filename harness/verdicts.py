"""Fold what pytest recorded per test node and attempt into one verdict per check id.

Pure functions over plain dicts (the results file's shape), so the plugin and the report
agree on one rule: a pass after a failure is `flaky`, a skip never hides a failure, and a
check selected at collection without any result is an `error`.
"""

from __future__ import annotations

from typing import Any

NO_RESULT = "no result recorded (the checks stopped before it ran, or it never reported)"
_FAILED = ("fail", "error")
# Worst first: which node speaks for a check id that several nodes carry.
_WORST = ("error", "fail", "flaky", "pass", "skip")


def fold_node(node: dict[str, Any]) -> dict[str, Any]:
    """One node's attempts (`[{"status", "message", "step"}, ...]`) as a single verdict; a
    failure's `step` says where it happened.
    """
    attempts = [a for a in node.get("attempts", []) if a.get("status")]
    verdict = {"id": node["id"], "nodeid": node["nodeid"], "tool": node["tool"],
               "duration_s": round(node.get("duration_s", 0.0), 3),
               "attempts": max(1, len(attempts))}
    failures = [a for a in attempts if a["status"] in _FAILED]
    if not attempts:
        return {**verdict, "status": "error", "message": NO_RESULT}
    last = attempts[-1]
    if last["status"] == "pass" and failures:
        first = failures[0]["message"]
        return {**verdict, "status": "flaky", "step": failures[0].get("step", ""),
                "message": f"passed on attempt {len(attempts)}; first failure: {first}"}
    if failures:  # a later skip (or nothing) never turns a failure into something milder
        return {**verdict, "status": failures[-1]["status"], "message": failures[-1]["message"],
                "step": failures[-1].get("step", "")}
    return {**verdict, "status": last["status"], "message": last.get("message", "")}


def fold(nodes: list[dict[str, Any]], selected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One verdict per check id: each node folded, the worst node per id kept, and every
    selected id (`{"id", "nodeid", "tool"}`) that has no node reported as an error.
    """
    by_id: dict[str, dict[str, Any]] = {}
    for node in nodes:
        verdict = fold_node(node)
        current = by_id.get(verdict["id"])
        if current is None or _WORST.index(verdict["status"]) < _WORST.index(current["status"]):
            by_id[verdict["id"]] = verdict
    for entry in selected:
        if entry["id"] not in by_id:
            by_id[entry["id"]] = {"id": entry["id"], "nodeid": entry["nodeid"],
                                  "tool": entry["tool"], "status": "error",
                                  "message": NO_RESULT, "duration_s": 0.0, "attempts": 1}
    return [by_id[key] for key in sorted(by_id)]
