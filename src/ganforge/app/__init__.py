"""``ganforge app``: a local web page to explore trained runs (sample grids by seed, sliders over
latent dimensions and InfoGAN codes, class and caption pickers, interpolations, stages,
translation of uploaded pictures). :mod:`.explorer` makes the pictures; :mod:`.server` serves
them with the page (the ``[app]`` extra: Starlette and uvicorn)."""
