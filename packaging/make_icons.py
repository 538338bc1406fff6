"""Render resources/mediasearch.svg into the PNG, ICO and ICNS app icons under resources/icons/."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "mediasearch.svg"
OUT = ROOT / "resources" / "icons"

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
# Windows reads at most 256 px from an .ico; Explorer and the taskbar pick among these.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# Pixel sizes Pillow's ICNS writer stores (16@2x is 32, ..., 512@2x is 1024); it has no
# 16 px entry, so macOS draws 16 pt at 1x from the 32 px one.
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)


def render(renderer: QSvgRenderer, size: int) -> Image.Image:
    """The SVG drawn antialiased at size x size px on a transparent background, as RGBA."""
    canvas = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    canvas.fill(Qt.GlobalColor.transparent)
    painter = QPainter(canvas)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    rgba = canvas.convertToFormat(QImage.Format.Format_RGBA8888)
    data = bytes(rgba.constBits())
    return Image.frombuffer("RGBA", (size, size), data, "raw", "RGBA", rgba.bytesPerLine(), 1)


def main() -> int:
    """Write every icon file; the output depends only on the SVG, Qt and Pillow versions."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot read {SVG}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    images = {size: render(renderer, size) for size in PNG_SIZES}
    for size, image in images.items():
        image.save(OUT / f"mediasearch-{size}.png", "PNG")
        print(f"wrote {OUT / f'mediasearch-{size}.png'}")

    # Every size rendered on its own grid, not scaled down from 256 px, so 16 px stays crisp.
    largest_ico = images[ICO_SIZES[-1]]
    largest_ico.save(
        OUT / "mediasearch.ico",
        "ICO",
        sizes=[(size, size) for size in ICO_SIZES],
        append_images=[images[size] for size in ICO_SIZES[:-1]],
    )
    print(f"wrote {OUT / 'mediasearch.ico'}")

    largest_icns = images[ICNS_SIZES[-1]]
    largest_icns.save(
        OUT / "mediasearch.icns",
        "ICNS",
        append_images=[images[size] for size in ICNS_SIZES[:-1]],
    )
    print(f"wrote {OUT / 'mediasearch.icns'}")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
