"""Escalation: unacknowledged incidents and unclaimed urgent tickets page along a chain."""
