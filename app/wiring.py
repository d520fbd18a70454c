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
    import app.rota.hooks  # noqa: F401
    import app.escalation.jobs  # noqa: F401
    import app.incident.hooks  # noqa: F401
    import app.portal.flows  # noqa: F401 - access (issue 3): approval and resolution e-mails, auto-close
    import app.budget.service  # noqa: F401 - access (issue 3): budget facts for the board order, re-rank job
    import app.sla.wiring  # noqa: F401  (SLA clocks follow tickets; breach sweep; `sla` in ticket views)
    import app.outbox.delivery  # noqa: F401  (issue 7: the outbox delivery job)
    import app.webhooks.service  # noqa: F401  (issue 7: audit events → webhook deliveries)
    import app.integrations.outgoing  # noqa: F401  (issue 7: email.send over SMTP, slack.notify)
    import app.integrations.replies  # noqa: F401  (issue 7: e-mail requesters on replies and status)
    import app.integrations.inbound  # noqa: F401  (issue 7: inbound dedupe and thread refs, in the change's transaction)
    import app.integrations.conversations  # noqa: F401  (issue 17: replies to GitHub issues and Slack threads)
    _wired = True
