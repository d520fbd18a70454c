"""The on-call rota: schedules, overrides, duties, handoffs and the calendar feed.

schedule.py is the pure arithmetic (who is on at t); service.py the use cases; ical.py
the RFC 5545 feed; handoff.py the end-of-shift report; hooks.py what the rota plugs into.
"""
