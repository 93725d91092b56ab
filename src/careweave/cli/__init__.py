"""The ``careweave`` command line: thin Typer wrappers over the packages.

Each module in this package that defines ``register(app: typer.Typer)`` adds its
commands; :mod:`careweave.cli.main` discovers them, so adding a command never
means editing a central list. Modules import heavy libraries (Spark,
scikit-learn, FastAPI) inside their commands, not at import time, so that
``careweave --help`` stays fast.
"""
