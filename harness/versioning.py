"""Compare version numbers as the checks and the drift table need it: image tags carry a
version plus a suffix (`17.6.0-debian-12-r4`, `3.8.3-python3.11`, `1.3.5-mlflow`).
"""

from __future__ import annotations

import re

_RELEASE = re.compile(r"^v?(\d+(?:\.\d+)*)")


def release_of(text: str) -> str | None:
    """The version number a version string or image tag starts with, else None.

    >>> release_of("17.6.0-debian-12-r4"), release_of("v1.2"), release_of("set-by-chartpress")
    ('17.6.0', '1.2', None)
    """
    match = _RELEASE.match(text.strip())
    return match.group(1) if match else None


def _parts(text: str) -> tuple[int, ...] | None:
    release = release_of(text)
    if release is None:
        return None
    parts = [int(p) for p in release.split(".")]
    while len(parts) > 1 and parts[-1] == 0:  # 18.6 is 18.6.0
        parts.pop()
    return tuple(parts)


def same_version(a: str, b: str) -> bool:
    """Whether two readings name the same release (suffixes and trailing zeros aside).

    >>> same_version("18.6", "18.6.0"), same_version("8.2.1-debian-12-r0", "6.2.14")
    (True, False)
    """
    parts = _parts(a)
    return parts is not None and parts == _parts(b)


def same_series(a: str, b: str) -> bool:
    """Whether two releases are of one compatible series: the same major version, or for
    0.x releases (where minors break compatibility, e.g. Feast) the same major.minor.

    >>> same_series("3.17.2", "3.15.1"), same_series("0.67.0", "0.66.0")
    (True, False)
    """
    left, right = release_of(a), release_of(b)
    if left is None or right is None:
        return False
    left_parts, right_parts = left.split("."), right.split(".")
    width = 2 if left_parts[0] == "0" else 1
    return [*left_parts, "0"][:width] == [*right_parts, "0"][:width]


def version_problems(
    server: str, reported: str, *, claimed: str | None = None, client: str | None = None
) -> list[str]:
    """What disagrees between a server's reported version and two independent readings: the
    version the target says it runs (`claimed`, e.g. from the installed package metadata)
    must be the same release; the checks' client library must be of the same series.

    >>> version_problems("server", "3.17.2", claimed="3.17.2", client="3.15.0")
    []
    >>> version_problems("server", "3.17.2", claimed="3.6.0")
    ['server reports 3.17.2, but the target says it runs 3.6.0']
    """
    problems = []
    if claimed is not None and not same_version(claimed, reported):
        problems.append(f"{server} reports {reported}, but the target says it runs {claimed}")
    if client is not None and not same_series(client, reported):
        problems.append(f"the client library {client} and the {server} {reported} are of "
                        "different release series")
    return problems


def expect_versions(
    tool: str, server: str, reported: str, *, claimed: str | None = None,
    client: str | None = None,
) -> None:
    """Fail, naming the tool and every disagreement, unless the readings agree (see
    `version_problems`).
    """
    __tracebackhide__ = True
    problems = version_problems(server, reported, claimed=claimed, client=client)
    if problems:
        raise AssertionError(f"{tool}: " + "; ".join(problems))
