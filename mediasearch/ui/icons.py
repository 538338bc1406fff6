"""Line icons drawn from inline SVG in the palette's text colour, so they suit light and dark."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

# 24 x 24 stroke icons in the style of the Lucide set (ISC licence).
_PATHS: dict[str, str] = {
    "search": '<circle cx="11" cy="11" r="7"/><path d="m20 20-4-4"/>',
    "image": '<rect x="3" y="3" width="18" height="18" rx="2"/><circle cx="9" cy="9" r="2"/>'
    '<path d="m21 15-3.1-3.1a2 2 0 0 0-2.8 0L6 21"/>',
    "close": '<path d="M18 6 6 18M6 6l12 12"/>',
    "folder": '<path d="M20 20a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2h-7.9a2 2 0 0 1-1.7-.9l-.8-1.2A2 2 0 '
    '0 0 7.9 3H4a2 2 0 0 0-2 2v13a2 2 0 0 0 2 2Z"/>',
    "folder-plus": '<path d="M12 10v6M9 13h6"/><path d="M20 20a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2h'
    '-7.9a2 2 0 0 1-1.7-.9l-.8-1.2A2 2 0 0 0 7.9 3H4a2 2 0 0 0-2 2v13a2 2 0 0 0 2 2Z"/>',
    "remove": '<path d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6"/>',
    "pause": '<rect x="6" y="4" width="4" height="16" rx="1"/>'
    '<rect x="14" y="4" width="4" height="16" rx="1"/>',
    "play": '<path d="m6 3 14 9-14 9V3z"/>',
    "stop": '<rect x="5" y="5" width="14" height="14" rx="2"/>',
    "settings": '<circle cx="12" cy="12" r="3"/><path d="M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 '
    "2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 "
    "1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 "
    "1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1"
    "a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 "
    "1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9"
    'a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z"/>',
    "warning": '<path d="m21.7 18-8-14a2 2 0 0 0-3.4 0l-8 14A2 2 0 0 0 4 21h16a2 2 0 0 0 1.7-3"/>'
    '<path d="M12 9v4M12 17h.01"/>',
    "live": '<circle cx="12" cy="12" r="2"/><path d="M16.2 7.8a6 6 0 0 1 0 8.4M7.8 16.2a6 6 0 0 1 '
    '0-8.4M19.1 4.9a10 10 0 0 1 0 14.2M4.9 19.1a10 10 0 0 1 0-14.2"/>',
    "poll": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
    "open": '<path d="M15 3h6v6M10 14 21 3M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8'
    'a2 2 0 0 1 2-2h6"/>',
    "copy": '<rect x="8" y="8" width="13" height="13" rx="2"/>'
    '<path d="M4 16a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h10a2 2 0 0 1 2 2"/>',
    "similar": '<rect x="3" y="3" width="11" height="11" rx="2"/><circle cx="16" cy="16" r="4"/>'
    '<path d="m22 22-3.2-3.2"/>',
    "preview": '<path d="M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z"/>'
    '<circle cx="12" cy="12" r="3"/>',
    "refresh": '<path d="M21 12a9 9 0 1 1-3-6.7L21 8M21 3v5h-5"/>',
}

# The app icon: a photo with a magnifier, on a rounded blue tile.
APP_ICON_SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
<rect x="2" y="2" width="60" height="60" rx="14" fill="#2f6fde"/>
<rect x="12" y="14" width="32" height="26" rx="4" fill="#fff" opacity="0.95"/>
<path d="M14 38l9-10 7 7 5-5 7 8z" fill="#8fb4f2"/>
<circle cx="22" cy="22" r="3.5" fill="#f4b63f"/>
<circle cx="40" cy="40" r="9" fill="none" stroke="#fff" stroke-width="4"/>
<path d="M47 47l7 7" stroke="#fff" stroke-width="5" stroke-linecap="round"/>
</svg>"""

_SIZES = (16, 20, 24, 32, 48)


def _svg(name: str, color: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" '
        f'stroke="{color}" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
        f"{_PATHS[name]}</svg>"
    ).encode()


def _render(data: bytes, size: int, ratio: float) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(data))
    pixels = max(1, round(size * ratio))
    pixmap = QPixmap(pixels, pixels)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, pixels, pixels))
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


@cache
def _icon(name: str, color: str) -> QIcon:
    app = QGuiApplication.instance()
    ratio = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
    result = QIcon()
    for size in _SIZES:
        result.addPixmap(_render(_svg(name, color), size, ratio))
    return result


def icon(name: str, color: QColor | str | None = None) -> QIcon:
    """A named line icon, drawn in `color` (the palette's text colour by default)."""
    if color is None:
        palette = QGuiApplication.palette()
        color = palette.color(palette.ColorRole.WindowText)
    text = color.name() if isinstance(color, QColor) else color
    return _icon(name, text)


@cache
def app_icon() -> QIcon:
    result = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        result.addPixmap(_render(APP_ICON_SVG.encode(), size, 1.0))
    return result
