"""The ``careweave`` command line: thin Typer wrappers over the packages.

Each module in this package that defines ``register(app: typer.Typer)`` adds its
commands; :mod:`careweave.cli.main` discovers them, so adding a command never
means editing a central list. Commands and sub-apps are module-level (a command
is a plain function, importable and callable in a test; ``register`` only
attaches them), and each does no more than parse its options, call one domain
function and print the result: domain code never prints or draws progress bars
(it takes a callback where it reports progress). Modules import heavy libraries (Spark,
scikit-learn, FastAPI) inside their commands, not at import time, so that
``careweave --help`` stays fast.
"""
