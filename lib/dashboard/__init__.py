"""``python -m lib dashboard``: a local web page of the project's hooks, updated live.

- :mod:`lib.dashboard.model`: what the page shows, built record by record (pure);
- :mod:`lib.dashboard.sources`: the logs followed from offsets, the state read as ``status`` does;
- :mod:`lib.dashboard.server`: HTTP, the JSON API, Server-Sent Events, the token and host checks;
- ``static/``: the page (HTML, CSS, JS; no build step, no CDN, works offline).
"""
