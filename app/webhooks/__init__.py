"""Outgoing webhooks: subscriptions per event type, fed from the audit log through the outbox."""
