"""Small synthetic Helm charts written by the tests, packaged with the harness's own helm, so
each manifest check can be shown to fail on the fault it exists for.

    path = make_chart(tmp_path / "charts", "demo", "1.0.0", templates={"svc.yaml": "..."},
                      values={"image": {"tag": "1"}}, kube_version=">=1.28.0-0")
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from harness.charts.helm import helm_binary


def make_chart(directory: Path, name: str, version: str, *, templates: dict[str, str],
               values: dict[str, Any] | None = None, app_version: str = "1.0",
               kube_version: str = "", crds: dict[str, str] | None = None) -> Path:
    """Write the chart `name` `version` and package it as `directory/<name>-<version>.tgz`."""
    source = directory / "src" / f"{name}-{version}" / name
    (source / "templates").mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"apiVersion": "v2", "name": name, "version": version,
                            "appVersion": app_version}
    if kube_version:
        meta["kubeVersion"] = kube_version
    (source / "Chart.yaml").write_text(yaml.safe_dump(meta))
    (source / "values.yaml").write_text(yaml.safe_dump(values or {}))
    for file, text in templates.items():
        (source / "templates" / file).write_text(text)
    for file, text in (crds or {}).items():
        (source / "crds").mkdir(exist_ok=True)
        (source / "crds" / file).write_text(text)
    subprocess.run([str(helm_binary()), "package", str(source), "--destination", str(directory)],
                   check=True, capture_output=True)
    return directory / f"{name}-{version}.tgz"
