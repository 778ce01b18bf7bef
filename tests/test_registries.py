"""String registries: every entry imports, and its NAME matches its key; target URLs parse."""

from __future__ import annotations

import pytest

from harness.errors import BadInputError
from harness.launchers import LAUNCHERS, get_launcher_class
from harness.targets import TARGETS, get_target_class, parse_target_url


@pytest.mark.parametrize("name", sorted(LAUNCHERS))
def test_launcher_importable(name: str) -> None:
    assert get_launcher_class(name).NAME == name


@pytest.mark.parametrize("scheme", sorted(TARGETS))
def test_target_importable(scheme: str) -> None:
    assert get_target_class(scheme).NAME == scheme


@pytest.mark.parametrize(("url", "expected"), [
    ("local://", ("local", {})),
    ("local", ("local", {})),
    ("local://?ready_timeout_s=30", ("local", {"ready_timeout_s": "30"})),
])
def test_target_urls(url: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_target_url(url) == expected


@pytest.mark.parametrize(("url", "message"), [
    ("locl://", "unknown target"),
    ("local://?ready_timeout=3", "did you mean 'ready_timeout_s'?"),
])
def test_bad_target_urls(url: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        parse_target_url(url)
