"""Several app servers behind one port: the nginx configuration that puts Streamlit processes
behind a reverse proxy (websockets upgraded, long-lived, one browser kept on one process).

Every app process reads the same database, so any of them serves the same numbers. A browser's
websocket and the HTTP requests of its session (downloads, uploads) must still reach the same
process, because Streamlit keeps a session's state in the process that opened it. The proxy
therefore hashes on the cockpit's session cookie: a signed-in browser stays on one process, and
different users spread over all of them. Only the scheduler writes; run one per machine you
like, since the database lease lets a single one refresh and the others stand by
(cockpit.scheduler).
"""
from __future__ import annotations

from pathlib import Path

from cockpit.auth import SESSION_COOKIE

# Streamlit's websocket stays open for the whole visit; nginx's default 60 s read timeout would
# cut a wall screen that only listens. A day, and the browser reconnects by itself after it.
WEBSOCKET_TIMEOUT_S = 86400


def server_block(listen: str, app_ports: list[int], *, app_host: str = "127.0.0.1", server_name: str = "_") -> str:
    """The `upstream` and `server` blocks for nginx's http context (e.g. a file in
    /etc/nginx/conf.d/): `listen` is nginx's address (e.g. "80" or "127.0.0.1:8080")."""
    if not app_ports:
        raise ValueError("give at least one app port")
    if len(set(app_ports)) != len(app_ports):
        raise ValueError(f"app ports repeat: {app_ports}")
    servers = "\n".join(f"    server {app_host}:{port} max_fails=3 fail_timeout=10s;" for port in app_ports)
    return f"""# The operations cockpit: {len(app_ports)} Streamlit app process(es) behind one port.
# Written by `python -m cockpit nginx-config`; README "Several app servers" explains it.
map $http_upgrade $cockpit_connection {{
    default upgrade;
    ''      close;
}}

upstream cockpit_apps {{
    # One browser (its session cookie) stays on one app process: Streamlit keeps a session in
    # the process its websocket reached. Different users spread over all processes.
    hash $cookie_{SESSION_COOKIE} consistent;
{servers}
}}

server {{
    listen {listen};
    server_name {server_name};
    client_max_body_size 50m;  # exports dropped through the app

    location / {{
        proxy_pass http://cockpit_apps;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $cockpit_connection;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout {WEBSOCKET_TIMEOUT_S}s;
        proxy_send_timeout {WEBSOCKET_TIMEOUT_S}s;
        proxy_buffering off;
        add_header X-Cockpit-App $upstream_addr always;
    }}
}}
"""


def standalone_config(listen: str, app_ports: list[int], folder: Path, *, app_host: str = "127.0.0.1") -> str:
    """A whole nginx.conf that runs without root from `folder` (its pid file, logs and
    temporary files there): `nginx -p FOLDER -c FOLDER/nginx.conf`. The access log records
    which app process served each request ($upstream_addr)."""
    folder = Path(folder)
    temp = {name: folder / "temp" / name for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi")}
    block = server_block(listen, app_ports, app_host=app_host, server_name="localhost").replace(
        "    location / {", f"    access_log {folder / 'access.log'} cockpit;\n\n    location / {{")
    return f"""daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    log_format cockpit '$remote_addr "$request" $status upstream=$upstream_addr';
    client_body_temp_path {temp["client"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};

{block}
}}
"""
