"""From the modules' `endpoints` output to what the checks are given: one port-forward per
tool, and the URL a client of that tool uses through it, under the endpoint names the local
target gives the same tool (so the same checks read them).

The checks' expectations (`ToolEntry.expect`: what the scenario asks of each tool, derived by
the local launchers from the rendered values) are not derived for a cluster yet, so each
tool's checks are skipped with that reason (`pending`); a tool whose endpoint is not one a
client uses (Seldon's is the operator's admission webhook) gets no forward.

Public API:
    CLIENT_URLS: tool -> (endpoint name, URL template with {address})
    forward_of(tool, endpoint) -> Forward | None
    tool_entry(tool, port) -> ToolEntry
    pending(tools) -> dict[str, str]    skip reasons, per tool
"""

from __future__ import annotations

from typing import Any

from harness.k8s.forwards import LOCALHOST, Forward
from harness.stack import ToolEntry

CLIENT_URLS = {
    "mlflow": ("tracking", "http://{address}"),
    "prefect": ("api", "http://{address}/api"),
    "jupyterhub": ("hub", "http://{address}"),  # proxy-public: the hub behind the proxy
    "dask": ("scheduler", "tcp://{address}"),
    "feast": ("feature_server", "http://{address}"),
}
NO_CLIENT_ENDPOINT = {
    "seldon": ("its endpoint is the operator's admission webhook; a SeldonDeployment's "
               "inference endpoint exists per deployment"),
}
PENDING = ("the kubernetes target does not derive {tool}'s expectations from the rendered "
           "values yet, nor give checks a way to reach what they make in the cluster; "
           "{tool} was applied, its workloads became ready and its endpoint answered "
           "through a port-forward")


def forward_of(tool: str, endpoint: dict[str, Any]) -> Forward | None:
    """The port-forward a client of `tool` needs (None when its endpoint is no client's)."""
    if tool not in CLIENT_URLS:
        return None
    return Forward(tool, str(endpoint["namespace"]), str(endpoint["service"]),
                   int(endpoint["port"]))


def tool_entry(tool: str, port: int) -> ToolEntry:
    """The tool as the checks see it through its forward on local `port`."""
    name, template = CLIENT_URLS[tool]
    return ToolEntry(endpoints={name: template.format(address=f"{LOCALHOST}:{port}")})


def pending(tools: list[str]) -> dict[str, str]:
    """Why each tool's checks do not run on a cluster yet."""
    reasons = {}
    for tool in tools:
        reason = PENDING.format(tool=tool)
        if tool in NO_CLIENT_ENDPOINT:
            reason = (f"the kubernetes target has no client endpoint for {tool} yet: "
                      f"{NO_CLIENT_ENDPOINT[tool]}")
        reasons[tool] = reason
    return reasons
