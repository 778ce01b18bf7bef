"""Lay out the test providers as a Terraform filesystem mirror, plus a CLI config using it."""

from __future__ import annotations

import datetime
import platform
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .schema import PROVIDERS

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# The launcher Terraform executes: this interpreter, with this package importable.
_LAUNCHER = """#!{python}
import sys
sys.path.insert(0, {package_parent!r})
from provider.server import main
main([{name!r}, {tls!r}])
"""
_CLI_CONFIG = """provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = [{addresses}]
  }}
  direct {{
    exclude = [{addresses}]
  }}
}}
"""


def platform_dir() -> str:
    """Terraform's name of this machine's platform, e.g. linux_amd64."""
    return f"{sys.platform}_{_ARCH.get(platform.machine().lower(), platform.machine().lower())}"


def _write_certificate(folder: Path) -> Path:
    """A self-signed certificate for the providers' gRPC TLS, made once rather than per start."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder


def build_mirror(dest: Path) -> Path:
    """Write the mirror under dest and return the path of a CLI config file that uses it."""
    mirror = dest / "mirror"
    tls = _write_certificate(dest / "tls")
    package_parent = str(Path(__file__).resolve().parent.parent)
    for name, (address, version) in PROVIDERS.items():
        folder = mirror / address / version / platform_dir()
        folder.mkdir(parents=True, exist_ok=True)
        launcher = folder / f"terraform-provider-{name}_v{version}"
        launcher.write_text(
            _LAUNCHER.format(
                python=sys.executable, package_parent=package_parent, name=name, tls=str(tls)
            )
        )
        launcher.chmod(0o755)
    addresses = ", ".join(f'"{address}"' for address, _ in PROVIDERS.values())
    config = dest / "terraformrc"
    config.write_text(_CLI_CONFIG.format(mirror=mirror, addresses=addresses))
    return config
