"""Every place one domain plugs into another, registered here and nowhere else.

Each extension point is a `Hooks` list (app/registry.py) owned by the domain that calls it;
the lines below fill them, and within each list the order of the lines is the order in
which the entries run. Importing a domain registers nothing.

`wire()` is called once by each entry point (the app, the worker, the CLI, the tests);
`wire_pages()` by the app only, so the worker and the CLI never import the page routers.
"""

_wired = False
_pages_wired = False


def wire() -> None:
    global _wired
    if _wired:
        return
    # Every table, so foreign keys resolve whichever entry point (app, worker, CLI) runs first.
    import app.models  # noqa: F401
    from app.audit.service import EVENT_LISTENERS
    from app.budget import service as budget
    from app.escalation import jobs as escalation
    from app.incident import hooks as incident
    from app.intake import service as intake
    from app.integrations import conversations, inbound, outgoing, replies
    from app.oncall import ON_CALL_RESOLVERS
    from app.outbox.delivery import OUTBOX_HANDLERS, OutboxHandler, delivery_job
    from app.portal import flows as portal
    from app.rota import hooks as rota
    from app.rota.handoff import HANDOFF_LISTENERS
    from app.sla import hooks as sla_hooks
    from app.sla import service as sla
    from app.sla import sweep as sla_sweep
    from app.ticket.hooks import TICKET_HOOKS
    from app.ticket.ranking import RANK_CONTEXT
    from app.ticket.views import BOARD_VIEW_EXTRAS, MESSAGE_VIEW_EXTRAS, TICKET_VIEW_EXTRAS
    from app.webhooks import service as webhooks
    from app.worker.jobs import PERIODIC_JOBS, periodic

    # Reactions to a ticket change, inside its transaction, in this order.
    TICKET_HOOKS.add(sla.follow_ticket)
    TICKET_HOOKS.add(inbound.write_effect)  # inbound dedupe and thread refs
    TICKET_HOOKS.add(rota.offer_new_ticket)
    TICKET_HOOKS.add(intake.ask_to_confirm_address)  # a held request asks its address to confirm
    TICKET_HOOKS.add(portal.ask_representatives_to_approve)
    TICKET_HOOKS.add(portal.ask_requester_to_confirm)
    TICKET_HOOKS.add(replies.mail_requester_on_change)
    TICKET_HOOKS.add(conversations.reply_in_origin_thread)  # replies back to GitHub and Slack

    # Facts other domains own that the board order needs.
    RANK_CONTEXT.add(budget.budget_rank_context)
    RANK_CONTEXT.add(incident.in_active_incident)

    # Fields other domains add to a ticket's output and to the board's rows.
    TICKET_VIEW_EXTRAS.add(sla_hooks.sla_view_extra)
    BOARD_VIEW_EXTRAS.add(sla_hooks.sla_board_extra)
    MESSAGE_VIEW_EXTRAS.add(conversations.message_deliveries)  # each reply's delivery state

    # Told of every audit event inside its transaction: audit events become webhook deliveries.
    EVENT_LISTENERS.add(webhooks.note_event)

    ON_CALL_RESOLVERS.add(rota.rota_on_call)

    # Told of each rota handoff inside its transaction: the support channel's topic names who is on.
    HANDOFF_LISTENERS.add(conversations.announce_handoff_in_channel)

    # Outbox topics and who delivers them; a topic's transport may be off until configured.
    OUTBOX_HANDLERS.add(OutboxHandler(webhooks.TOPIC, webhooks.deliver_webhook))
    OUTBOX_HANDLERS.add(
        OutboxHandler(outgoing.EMAIL_TOPIC, outgoing.send_email, enabled=outgoing.smtp_configured)
    )
    OUTBOX_HANDLERS.add(
        OutboxHandler(
            outgoing.SLACK_TOPIC, outgoing.notify_slack, enabled=outgoing.slack_configured
        )
    )
    OUTBOX_HANDLERS.add(
        OutboxHandler(
            conversations.GITHUB_TOPIC,
            conversations.post_github_comment,
            enabled=conversations.github_configured,
        )
    )
    OUTBOX_HANDLERS.add(
        OutboxHandler(
            conversations.SLACK_TOPIC,
            conversations.post_slack_reply,
            enabled=conversations.slack_bot_configured,
        )
    )
    OUTBOX_HANDLERS.add(
        OutboxHandler(
            conversations.OPEN_THREAD_TOPIC,
            conversations.open_slack_thread,
            enabled=conversations.slack_bot_configured,
        )
    )
    OUTBOX_HANDLERS.add(
        OutboxHandler(
            conversations.TOPIC_TOPIC,
            conversations.set_slack_topic,
            enabled=conversations.slack_bot_configured,
        )
    )

    # The worker's jobs, in the order one tick runs them.
    PERIODIC_JOBS.add(
        periodic("budget.rerank", budget.rerank_budgeted_communities, every_seconds=3600)
    )
    PERIODIC_JOBS.add(periodic("outbox.deliver", delivery_job, every_seconds=2))
    PERIODIC_JOBS.add(periodic("rota.handoffs", rota.handoff_job, every_seconds=60))
    PERIODIC_JOBS.add(periodic("escalation", escalation.escalation_sweep, every_seconds=60))
    PERIODIC_JOBS.add(
        periodic("portal.auto_close", portal.auto_close_quiet_resolutions, every_seconds=3600)
    )
    PERIODIC_JOBS.add(periodic("sla.breach_sweep", sla_sweep.breach_sweep_job, every_seconds=60))
    _wired = True


def wire_pages() -> None:
    """The panels other domains add to the ticket page (sidebar) and the board (header)."""
    global _pages_wired
    if _pages_wired:
        return
    from app.routers.pages import budgets, incidents, integrations, rota, sla
    from app.routers.pages.panels import BOARD_PANELS, TICKET_PANELS, BoardPanel, TicketPanel

    TICKET_PANELS.add(TicketPanel("sla/ticket_panel.html", sla.ticket_sla_panel))
    TICKET_PANELS.add(TicketPanel("incident/ticket_panel.html", incidents.incident_panel))
    TICKET_PANELS.add(TicketPanel("budget/ticket_panel.html", budgets.time_panel))
    TICKET_PANELS.add(TicketPanel("integrations/tracker_panel.html", integrations.tracker_panel))

    BOARD_PANELS.add(BoardPanel("rota/board_panel.html", rota.on_call_panel))
    _pages_wired = True
