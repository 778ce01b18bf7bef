"""`<module>.wiring.secret-values.<release>`: no secret of the run (a generated secret or a
sensitive variable's value) appears, plain or base64-encoded, in any object the release
renders other than a Secret: not in a ConfigMap, an env `value`, args, annotations, a custom
resource... A failure names the object and the field path, never the value.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

from harness.manifests.inventory import located_ref
from harness.report.model import CheckResult

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from harness.manifests.context import ManifestContext

_MIN_LENGTH = 6  # shorter values would match ordinary words
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result per rendered release."""
    forms = secret_forms(ctx.rendered.secret_strings)
    results = []
    for release in ctx.manifests.releases:
        ident = f"{release.module}.wiring.secret-values.{release.name}"
        if release.error or release.skipped:
            results.append(CheckResult(id=ident, tool=release.module, status="skip",
                                       message=f"not judged: {release.label} not rendered"))
            continue
        problems = [f"{located_ref(release, obj)} {path}: holds a secret value ({form})"
                    for obj in release.objects if obj.get("kind") != "Secret"
                    for path, form in leaks(obj, forms)]
        if problems:
            results.append(CheckResult(id=ident, tool=release.module, status="fail",
                                       message=f"{release.label}: " + "; ".join(problems)))
        else:
            kept = sum(1 for o in release.objects if o.get("kind") != "Secret")
            results.append(CheckResult(
                id=ident, tool=release.module, status="pass",
                message=f"{release.label}: none of {len(ctx.rendered.secret_strings)} secret "
                        f"value(s) in its {kept} non-Secret object(s)"))
    return results


def secret_forms(secrets: Iterable[str]) -> dict[str, str]:
    """Each secret as it could be written: `{text: "plain" | "base64"}`."""
    forms: dict[str, str] = {}
    for secret in secrets:
        if len(secret) >= _MIN_LENGTH:
            forms[secret] = "plain"
            forms[base64.b64encode(secret.encode()).decode()] = "base64"
    return forms


def leaks(node: Any, forms: dict[str, str], path: str = "") -> Iterator[tuple[str, str]]:
    """`(field path, form)` of each string in `node` holding a secret.

    >>> list(leaks({"data": {"a": "x=hunter22"}}, {"hunter22": "plain"}))
    [('data.a', 'plain')]
    """
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaks(value, forms, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for position, item in enumerate(node):
            yield from leaks(item, forms, f"{path}[{position}]")
    elif isinstance(node, str):
        found = sorted({form for text, form in forms.items() if text in node})
        decoded = _decoded(node)
        if not found and decoded is not None and any(form == "plain" and text in decoded
                                       for text, form in forms.items()):
            found.append("inside a base64 value")
        if found:
            yield path, ", ".join(dict.fromkeys(found))


def _decoded(text: str) -> str | None:
    # ConfigMap `binaryData` and annotations may carry base64 of a larger text.
    if not _BASE64.match(text):
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
