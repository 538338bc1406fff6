"""What a bundled (PyInstaller) app takes from the system it runs on instead of the build's."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, MutableMapping
from pathlib import Path

# Where Linux distributions (and macOS) keep the trusted CA certificates, as one PEM file.
# The OpenSSL inside a bundle looks where the build machine's distribution keeps them, which
# another distribution may not have: downloads of the model would then fail to verify.
SYSTEM_CA_BUNDLES: tuple[str, ...] = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL, CentOS
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/tls/cacert.pem",  # OpenELEC
    "/etc/ssl/cert.pem",  # Alpine, macOS
)


def is_frozen() -> bool:
    """Whether this is the bundled app rather than a Python install."""
    return bool(getattr(sys, "frozen", False))


def use_system_certificates(
    environ: MutableMapping[str, str] = os.environ,
    candidates: Iterable[str] = SYSTEM_CA_BUNDLES,
) -> str | None:
    """Point OpenSSL at this system's CA bundle unless the user already chose one.

    Windows needs nothing: Python reads its certificate store. Returns the file chosen.
    """
    if sys.platform == "win32" or environ.get("SSL_CERT_FILE") or environ.get("SSL_CERT_DIR"):
        return None
    for candidate in candidates:
        if Path(candidate).is_file():
            environ["SSL_CERT_FILE"] = candidate
            return candidate
    return None
