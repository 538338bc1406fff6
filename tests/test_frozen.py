"""The bundled app finds this system's CA certificates, so model downloads verify anywhere."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mediasearch.frozen import use_system_certificates

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Windows uses its own store")


def test_the_first_ca_bundle_found_is_used(tmp_path: Path) -> None:
    present = tmp_path / "ca-bundle.crt"
    present.write_text("-----BEGIN CERTIFICATE-----\n")
    environ: dict[str, str] = {}
    chosen = use_system_certificates(environ, [str(tmp_path / "missing.pem"), str(present)])
    assert chosen == str(present)
    assert environ == {"SSL_CERT_FILE": str(present)}


def test_a_users_own_choice_is_kept(tmp_path: Path) -> None:
    present = tmp_path / "ca-bundle.crt"
    present.write_text("")
    environ = {"SSL_CERT_FILE": "/my/corporate.pem"}
    assert use_system_certificates(environ, [str(present)]) is None
    assert environ == {"SSL_CERT_FILE": "/my/corporate.pem"}


def test_nothing_is_set_when_no_bundle_exists(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    assert use_system_certificates(environ, [str(tmp_path / "none.pem")]) is None
    assert environ == {}
