"""``ganforge app RUN [RUN ...]``: explore trained runs in the browser."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "app", help="explore trained runs in a local web page",
        description="Serve a page on this machine to explore trained runs: sample grids by seed, "
                    "sliders over latent dimensions and InfoGAN codes, a class or caption picker, "
                    "interpolations, stages, and translation of your own pictures. Needs "
                    'pip install "ganforge[app]"; nothing is fetched from the internet.')
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories written by train")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=7860,
                   help="port (default: 7860); 0 takes a free one")
    p.add_argument("--device", default="auto",
                   help="where the generators run (default: a GPU if there is one)")
    p.add_argument("--open", action="store_true", help="open the page in the web browser")


def run(args: argparse.Namespace) -> int:
    from ganforge.app.explorer import Explorer
    from ganforge.app.server import serve

    serve(Explorer.open(args.runs, device=args.device), host=args.host, port=args.port,
          open_browser=args.open)
    return 0
