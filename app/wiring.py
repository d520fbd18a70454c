"""Import every domain that plugs into another (hooks, rank context, periodic jobs).

Called once by each entry point (the app, the worker, the CLI, the tests), so the
registrations happen in one known place instead of as a side effect of some import.
"""

_wired = False


def wire() -> None:
    global _wired
    if _wired:
        return
    # Every table, so foreign keys resolve whichever entry point (app, worker, CLI) runs first.
    import app.models  # noqa: F401

    # Each import registers that domain's hooks, rank-context providers and periodic jobs.
    _wired = True
