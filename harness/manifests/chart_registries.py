"""The image registries a chart package itself names: the images of its default values
(`values.yaml`, and its subcharts'), and images written literally in its templates (some
charts hard-code one, e.g. seldon-core-operator's usage-metrics volunteer).

This is what a release may pull from without a scenario saying so: the chart maintainers'
choice of registry. Read from the package, so it follows the chart version under test.

Public API:
    chart_registries(package) -> frozenset of registry hosts, e.g. {"docker.io", "quay.io"}
"""

from __future__ import annotations

import io
import re
import tarfile
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

from harness.static.images import image_uses, registry_of

if TYPE_CHECKING:
    from pathlib import Path

# `image: repo/name:tag` with no template expression in it.
_LITERAL_IMAGE = re.compile(r"""^\s*(?:-\s+)?image:\s*["']?([^\s"'{}]+)["']?\s*$""", re.MULTILINE)


@cache
def chart_registries(package: Path) -> frozenset[str]:
    """Registries named by the chart package's default values and literal template images."""
    with tarfile.open(package) as archive:
        return frozenset(_registries(archive))


def _registries(archive: tarfile.TarFile) -> set[str]:
    found: set[str] = set()
    for member in archive.getmembers():
        if not member.isfile():
            continue
        data = archive.extractfile(member)
        if data is None:
            continue
        content = data.read()
        name = member.name
        if name.endswith(".tgz") and "/charts/" in name:
            # A subchart kept packaged inside its parent.
            with tarfile.open(fileobj=io.BytesIO(content)) as nested:
                found |= _registries(nested)
        elif name.endswith("/values.yaml"):
            found |= {registry_of(use.image) for use in image_uses(_yaml(content))}
        elif "/templates/" in name:
            text = content.decode("utf-8", "replace")
            found |= {registry_of(image) for image in _LITERAL_IMAGE.findall(text)}
    return found


def _yaml(content: bytes) -> dict[str, Any]:
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}
