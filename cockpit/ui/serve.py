"""Starts the Streamlit server for app.py: `python -m cockpit.ui.serve [streamlit run options]`."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parents[2] / "app.py"


def prewarm() -> None:
    """Import what the pages draw with (pandas, plotly, SQLAlchemy, the cockpit's widgets and
    loaders: about 3 s here) in the server process, so that the first visitor after a start
    does not wait for it; the page scripts then find the modules loaded."""
    from cockpit.ui import charts, loaders, shell, widgets  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    # Until some run calls st.navigation, Streamlit serves a pages/ folder the old way: a URL
    # it does not know from the file names (/stock-levels on a TV that reconnects after
    # a restart) gets "Page not found". app.py lists every page itself, so say so up front.
    PagesManager.uses_pages_directory = False
    options = list(sys.argv[1:] if argv is None else argv)
    # A served cockpit does not reload its code when a file changes: a reload mid-session
    # swaps the classes cached values are made of (st.cache_data then fails to copy them).
    if not any(option.startswith("--server.fileWatcherType") for option in options):
        options = ["--server.fileWatcherType", "none", *options]
    # The operations team gets no developer toolbar ("Deploy", always in English): only the menu.
    if not any(option.startswith("--client.toolbarMode") for option in options):
        options = ["--client.toolbarMode", "minimal", *options]
    # Beside the server's start, not before it: the health check answers as soon as it can.
    threading.Thread(target=prewarm, name="cockpit-prewarm", daemon=True).start()
    cli.main(args=["run", str(APP), *options], prog_name="streamlit")


if __name__ == "__main__":
    main()
