"""The app's look: Fusion with a calm light palette and a small style sheet."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#2f6fde"

STYLE_SHEET = f"""
#topBar {{ background: #f7f8fa; border-bottom: 1px solid #e3e6eb; }}
#searchBar {{
    background: #ffffff; border: 1px solid #cfd5de; border-radius: 8px; min-height: 34px;
}}
#searchBar:focus-within {{ border: 1px solid {ACCENT}; }}
#searchEdit {{ background: transparent; border: none; font-size: 11pt; padding: 2px 0; }}
#chip {{ background: #e8effc; border: 1px solid #c5d5f5; border-radius: 6px; }}
#chipClose {{ border: none; padding: 0; }}
#controlLabel {{ color: #5b6472; }}
#sidebar {{ background: #f3f4f7; border-right: 1px solid #e3e6eb; }}
#sidebarTitle {{
    color: #5b6472; font-weight: 600; font-size: 8.5pt; letter-spacing: 0.5px;
}}
#sidebarNote {{ color: #6b7482; }}
#folderList {{ background: transparent; border: none; }}
#folderList::item {{ padding: 5px 4px; border-radius: 5px; }}
#folderList::item:selected {{ background: #dde7fa; color: #1d2530; }}
#results {{ background: #ffffff; }}
#resultInfo {{
    color: #5b6472; padding: 6px 14px; background: #ffffff; border-bottom: 1px solid #eef0f3;
}}
#emptyState {{ background: #ffffff; }}
#emptyTitle {{ font-size: 15pt; font-weight: 600; color: #1d2530; }}
#emptyBody {{ color: #5b6472; font-size: 10pt; }}
#emptyAction {{
    background: {ACCENT}; color: white; border: none; border-radius: 6px; padding: 7px 16px;
    font-weight: 600;
}}
#emptyAction:hover {{ background: #2a63c7; }}
#preview {{ background: #f7f8fa; border-left: 1px solid #e3e6eb; }}
#previewName {{ font-weight: 600; font-size: 10.5pt; }}
#previewDetails {{ color: #5b6472; }}
#dialogTitle {{ font-size: 12pt; font-weight: 600; }}
#hint {{ color: #6b7482; }}
#aboutName {{ font-size: 17pt; font-weight: 600; color: #1d2530; }}
#aboutVersion {{ color: #5b6472; }}
#aboutSection {{
    color: #5b6472; font-weight: 600; font-size: 8.5pt; letter-spacing: 0.5px; margin-top: 4px;
}}
#aboutPrivacy {{
    background: #eef3fc; border: 1px solid #c5d5f5; border-radius: 6px; padding: 7px 10px;
}}
#componentTable {{ background: #ffffff; border: 1px solid #e3e6eb; border-radius: 4px; }}
#componentTable::item {{ padding: 0 6px; }}
#componentTable::item:selected {{ background: #dde7fa; color: #1d2530; }}
#componentTable QHeaderView::section {{
    background: #f7f8fa; border: none; border-bottom: 1px solid #e3e6eb; padding: 4px 9px;
}}
QStatusBar {{ background: #f7f8fa; border-top: 1px solid #e3e6eb; color: #3b4452; }}
QStatusBar::item {{ border: none; }}
#skippedLink {{ color: #b0630b; }}
#modelState {{ padding-left: 8px; color: #5b6472; }}
QProgressBar {{ border: none; background: #e3e6eb; border-radius: 6px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 6px; }}
QSplitter::handle {{ background: #e3e6eb; width: 1px; }}
QToolTip {{ color: #1d2530; background: #ffffff; border: 1px solid #cfd5de; padding: 4px; }}
"""


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#f7f8fa"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#1d2530"))
    palette.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#f3f4f7"))
    palette.setColor(QPalette.ColorRole.Text, QColor("#1d2530"))
    palette.setColor(QPalette.ColorRole.Button, QColor("#f3f4f7"))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor("#1d2530"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.Link, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.Mid, QColor("#9aa3b0"))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8a94a6"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor("#1d2530"))
    app.setPalette(palette)
    font = QFont(app.font())
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
