"""The explorer over HTTP: one static page (``page.html``, no script or font from elsewhere,
so it works offline) and two JSON endpoints, served by Starlette under uvicorn on 127.0.0.1.

Why not Gradio: installing it resolves to 52 packages here (pandas, pydantic, httpx,
huggingface_hub, ...) against 7 for Starlette and uvicorn, and its default theme loads Google
Fonts, on which its page has been seen to hang offline (gradio-app/gradio#4332). A page of ~300
lines that this project owns does what the explorer needs, works offline, and is driven by a
plain Selenium test.
"""

from __future__ import annotations

import json
import socket
import sys
from importlib import resources

from ganforge.app.explorer import Explorer, Request
from ganforge.errors import GanforgeError


def _missing_extra(error: ImportError) -> GanforgeError:
    return GanforgeError(f"the explorer needs the app extra ({error.name} is missing): "
                         'pip install "ganforge[app]"')


def page() -> str:
    return resources.files("ganforge.app").joinpath("page.html").read_text(encoding="utf-8")


def build_app(explorer: Explorer):
    """The Starlette application serving ``explorer``."""
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import HTMLResponse, JSONResponse, Response
        from starlette.routing import Route
    except ImportError as error:
        raise _missing_extra(error) from None

    html = page()

    async def index(request):
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def runs(request):
        return JSONResponse(explorer.describe())

    async def render(request):
        try:
            body = await request.body()
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                raise GanforgeError("the request body is not JSON") from None
            png = await run_in_threadpool(explorer.render, Request.from_json(data))
        except GanforgeError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    return Starlette(routes=[Route("/", index), Route("/api/runs", runs),
                             Route("/api/render", render, methods=["POST"])])


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(explorer: Explorer, host: str = "127.0.0.1", port: int = 7860,
          open_browser: bool = False) -> None:
    """Serve until Ctrl-C. ``port`` 0 takes a free one; the address is printed either way."""
    try:
        import uvicorn
    except ImportError as error:
        raise _missing_extra(error) from None
    app = build_app(explorer)
    port = port or free_port(host)
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            raise GanforgeError(f"port {port} on {host} is taken; give another with --port "
                                "(or --port 0 for a free one)")
    url = f"http://{host}:{port}/"
    names = ", ".join(explorer.models)
    print(f"ganforge app: exploring {names} at {url} (Ctrl-C stops)", flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        print(f"ganforge: error: the server could not start on {url}", file=sys.stderr)
