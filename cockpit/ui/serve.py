"""Starts the Streamlit server for app.py: `python -m cockpit.ui.serve [streamlit run options]`."""
from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parents[2] / "app.py"


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
    cli.main(args=["run", str(APP), *options], prog_name="streamlit")


if __name__ == "__main__":
    main()
