"""Intake trust (issue 17): a request whose sender nobody verified is held until that address confirms it."""
