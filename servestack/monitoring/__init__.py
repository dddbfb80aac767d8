"""Monitoring every stack ships: Prometheus alerting rules and a Grafana dashboard from the SLO and the plan.

Pulumi-free; `ServingAddons` loads the output into the Prometheus and Grafana conventions, and
`servestack dashboard` writes the dashboard for teams with their own Grafana.
"""

from servestack.monitoring.dashboard import DASHBOARD_LABEL, dashboard, dashboard_json, dashboard_uid
from servestack.monitoring.rules import AlertRule, alert_rules, fleet_rules_document, rules_document, rules_yaml
from servestack.monitoring.targets import MonitoringTargets, fleet_targets, monitoring_targets

__all__ = [
    "DASHBOARD_LABEL",
    "AlertRule",
    "MonitoringTargets",
    "alert_rules",
    "dashboard",
    "dashboard_json",
    "dashboard_uid",
    "fleet_rules_document",
    "fleet_targets",
    "monitoring_targets",
    "rules_document",
    "rules_yaml",
]
