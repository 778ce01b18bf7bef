"""Find the images a chart's rendered values pull, and the pull secrets each one gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_SECRET_KEYS = ("pullSecrets", "imagePullSecrets", "image_pull_secrets")
_DOCKER_HUB = {"docker.io", "index.docker.io", "registry-1.docker.io", "index.docker.io/v1"}


@dataclass(frozen=True)
class ImageUse:
    """One image reference in a release's values, and the pull secrets its pod would carry."""

    path: str
    image: str
    pull_secrets: tuple[str, ...]


def image_uses(values: dict[str, Any]) -> list[ImageUse]:
    """Every image the values set, with the pull secrets that apply to its pod.

    Images are `image: "ref"` strings (KubeSpawner overrides) and image objects: a dict with
    `repository` (plus `registry`, `tag`) or an `image:` dict with `name` (zero-to-jupyterhub).
    A pull-secret list applies when it sits in the image object, or beside it or beside the
    `image:` object of any enclosing dict (so `singleuser.image.pullSecrets` covers profiles).

    >>> image_uses({"imagePullSecrets": [{"name": "r"}], "image": {"repository": "h:5/a"}})
    [ImageUse(path='image', image='h:5/a', pull_secrets=('r',))]
    """
    found: list[ImageUse] = []
    _walk(values, "", [], found)
    return found


def registry_of(image: str) -> str:
    """The registry host of an image reference (`docker.io` when it names none).

    >>> registry_of("registry.example.internal:5000/ml/mlflow:3")
    'registry.example.internal:5000'
    >>> registry_of("jupyter/base-notebook")
    'docker.io'
    """
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return normalise_registry(first)
    return "docker.io"


def normalise_registry(server: str) -> str:
    """A `docker_registry_server` value as a host: no scheme, no trailing slash; Hub aliased."""
    host = server.split("://", 1)[-1].rstrip("/")
    return "docker.io" if host in _DOCKER_HUB else host


def _walk(node: Any, path: str, ancestors: list[dict[str, Any]], found: list[ImageUse]) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, f"{path}[{index}]", ancestors, found)
        return
    if not isinstance(node, dict):
        return
    scopes = [*ancestors, node]
    for key, value in node.items():
        where = f"{path}.{key}" if path else key
        if key == "image" and isinstance(value, str) and value:
            found.append(ImageUse(where, value, _secrets_for(scopes)))
        elif isinstance(value, dict) and _is_image(key, value):
            found.append(ImageUse(where, _reference(value), _secrets_for([*scopes, value])))
        else:
            _walk(value, where, scopes, found)


def _is_image(key: str, value: dict[str, Any]) -> bool:
    if isinstance(value.get("repository"), str) and value["repository"]:
        return True
    return key == "image" and isinstance(value.get("name"), str) and bool(value["name"])


def _reference(spec: dict[str, Any]) -> str:
    name = str(spec.get("repository") or spec.get("name"))
    registry = spec.get("registry")
    if isinstance(registry, str) and registry:
        name = f"{registry}/{name}"
    tag = spec.get("tag")
    return f"{name}:{tag}" if isinstance(tag, str | int | float) and str(tag) else name


def _secrets_for(scopes: list[dict[str, Any]]) -> tuple[str, ...]:
    names: list[str] = []
    for scope in scopes:
        # Beside the image: the dict itself, its `image:` object, and Bitnami's `global:`.
        holders = [scope, *(v for k in ("image", "global") if isinstance(v := scope.get(k), dict))]
        for holder in holders:
            for key in _SECRET_KEYS:
                for entry in holder.get(key) or []:
                    name = entry.get("name") if isinstance(entry, dict) else entry
                    if isinstance(name, str) and name and name not in names:
                        names.append(name)
    return tuple(names)
