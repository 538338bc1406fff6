"""The desktop app: wires the core Library to a QApplication and the main window."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from mediasearch.config import APP_NAME, Settings, home_dir

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

# Asked to end (a logout, `kill`, Ctrl+C in the terminal): close the window as the user would.
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)
SIGNAL_DRAIN_BYTES = 64


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=APP_NAME, description="Search your photos.")
    parser.add_argument("--home", help="folder for the catalog and index")
    parser.add_argument("--model", help="open_clip name:tag, or a local model folder, this run")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="this run")
    parser.add_argument("--backend", choices=("fast", "exact"), help="on a CPU, this run")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this install end to end (drawn photos, a tiny model, no download); "
        "exit status 0 if it works",
    )
    # Qt's own options (-platform, -style, ...) pass through to QApplication.
    args, _qt_args = parser.parse_known_args(list(argv))
    return args


def run_app(argv: list[str]) -> int:
    """Open the app window and run until it is closed; returns the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    # Qt first, the window next and the library after: the window shows before torch loads.
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from mediasearch.ui.controller import Controller, default_library
    from mediasearch.ui.main_window import MainWindow
    from mediasearch.ui.style import apply_style

    app = QApplication.instance() or QApplication([sys.argv[0], *_qt_args(argv)])
    assert isinstance(app, QApplication)
    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("mediasearch")
    app.setDesktopFileName(APP_NAME)
    apply_style(app)
    if args.self_test:
        from mediasearch.ui.self_test import run_self_test

        return run_self_test(app)

    home = home_dir(args.home)
    settings = Settings.load(home)
    if args.model:
        settings = replace(settings, model=args.model)
    if args.device:
        settings = replace(settings, device=args.device)
    if args.backend:
        settings = replace(settings, backend=args.backend)
    try:
        library = default_library(home, settings)
    except Exception as error:  # e.g. a catalog written by a newer version, an unwritable home
        log.exception("cannot open the library in %s", home)
        QMessageBox.critical(
            None,
            "mediasearch cannot start",
            f"The library in {home} could not be opened.\n\n{error}",
        )
        return 1
    controller = Controller(library, settings, home)
    window = MainWindow(controller)
    window.show()
    QTimer.singleShot(0, controller.start)
    app.aboutToQuit.connect(controller.shutdown)
    restore_signals = quit_on_signals(app, window)
    try:
        code = int(app.exec())
    finally:
        restore_signals()
    controller.shutdown()
    if not controller.stopped_cleanly:
        logging.shutdown()
        os._exit(code)  # a stuck download thread must not turn a normal quit into a crash
    return code


def quit_on_signals(app: QApplication, window: QWidget) -> Callable[[], None]:
    """Make SIGTERM and SIGINT close `window` and quit, saving and stopping as a closed window
    does; returns a function that puts the previous handlers back.

    Python runs signal handlers only when the interpreter gets control, which Qt's event
    loop never gives it while idle: the signal's byte on a wake-up socket does.
    """
    from PySide6.QtCore import QSocketNotifier

    if sys.platform == "win32":
        return lambda: None  # no SIGTERM to speak of; the console's Ctrl+C stays Python's
    wake_read, wake_write = socket.socketpair()
    for end in (wake_read, wake_write):
        end.setblocking(False)
    notifier = QSocketNotifier(wake_read.fileno(), QSocketNotifier.Type.Read, app)
    # Reading the byte is all it takes: the Python handler runs once this slot is entered.
    notifier.activated.connect(lambda: _drain(wake_read))
    previous_fd = signal.set_wakeup_fd(wake_write.fileno())

    def quit_now(signum: int, _frame: object) -> None:
        log.info("%s received; quitting", signal.Signals(signum).name)
        window.close()  # saves the window's state and stops the background work
        app.quit()

    previous = {sig: signal.signal(sig, quit_now) for sig in QUIT_SIGNALS}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        wake_read.close()
        wake_write.close()

    return restore


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(SIGNAL_DRAIN_BYTES):
            pass
    except OSError:  # nothing left to read (non-blocking)
        pass


def _qt_args(argv: Sequence[str]) -> list[str]:
    ours = {"--home", "--model", "--device", "--backend"}
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in ours:
            skip = "=" not in arg
            continue
        out.append(arg)
    return out
