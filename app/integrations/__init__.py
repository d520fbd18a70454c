"""Inbound integrations (GitHub, Slack, e-mail): parse and verify native payloads, then call services."""
