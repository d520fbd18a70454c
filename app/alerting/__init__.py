"""Monitoring alerts in: Alertmanager, Grafana and a generic JSON shape, grouped into incidents."""
