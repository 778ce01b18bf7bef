"""From the modules' `endpoints` output to what the checks are given: one port-forward per
tool, the URL a client of that tool uses through it (under the endpoint names the local target
gives the same tool, so the same checks read them), and what the checks expect of the tool.

The expectations come from the scenario (`harness.settings`), as on the local target, and
from the rendered values where the cluster runs what the chart says (the Prefect pool's type).
MLflow's, Dask's, Prefect's, JupyterHub's and Feast's checks need nothing more (facts inside
pods are read through `harness.host_facts`; a deployment's flow code travels in its pull
steps, `harness.flow_code`; Feast's client uses the cluster's stores through forwards the
target adds, `harness.k8s.feast_client`), so they run on a cluster. Seldon's client is the
API server itself: its module's endpoint is the operator's admission webhook, which only the
API server calls, so Seldon gets `kubectl proxy` instead of a port-forward, and its checks
reach what a SeldonDeployment creates through the API server's proxies
(`harness.seldon_access`). Single checks that cannot apply there are skipped with the reason
(`PENDING_CHECKS`: GitHub's real login; `pending`: a model no Seldon pod could fetch;
`reach_databases`: an external database this machine does not reach). Each forwarded tool
can be restarted by a check (its pods replaced; `harness.k8s.restart`).

Public API:
    CLIENT_URLS: tool -> (endpoint name, URL template with {address})
    RUNS_ON_CLUSTER: tools whose checks run on a cluster
    CREDENTIALS: tool -> {credential: run secret}
    forward_of(tool, endpoint) -> Forward | None
    model_store(scenario) -> str | None          how a Seldon modelUri names MLflow's store
    tool_entry(tool, port, scenario, releases=(), namespace="") -> ToolEntry
    pending(tools, scenario) -> dict[str, str]    skip reasons, per tool or check id
    reach_databases(stack, scenario, secrets) -> dict[str, str]   skip reasons, per check id
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from harness.k8s.forwards import LOCALHOST, Forward, api_proxy
from harness.launchers._database import external_database_of
from harness.launchers.feast import FeastSettings
from harness.settings import DaskSettings, MlflowSettings, PrefectSettings
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from harness.scenario import Scenario
    from harness.secrets import SecretStore
    from harness.stack import Stack
    from harness.static.render import Release

CLIENT_URLS = {
    "mlflow": ("tracking", "http://{address}"),
    "prefect": ("api", "http://{address}/api"),
    "jupyterhub": ("hub", "http://{address}"),  # proxy-public: the hub behind the proxy
    "dask": ("scheduler", "tcp://{address}"),
    "feast": ("feature_server", "http://{address}"),
    "seldon": ("api", "http://{address}"),  # kubectl proxy: the API server
}
RUNS_ON_CLUSTER = frozenset({"mlflow", "dask", "prefect", "jupyterhub", "feast", "seldon"})
# The Seldon checks that serve the checks' model; `seldon.missing-model` needs none.
SELDON_SERVING_CHECKS = ("seldon.deploy", "seldon.predict-v2", "seldon.undeploy",
                         "seldon.metrics")
PENDING = "the kubernetes target does not run {tool}'s checks yet"
PENDING_CHECKS = {
    **{f"jupyterhub.{check}": ("cannot apply on a cluster: the checks log in through the "
                               "local target's GitHub stand-in; a cluster's hub sends users "
                               "to the real GitHub, whose login the checks cannot drive")
       for check in ("oauth-redirect", "oauth-member", "oauth-non-member", "oauth-admin",
                     "oauth-dummy-refused")},
}
# The journey moves data through files on this machine; on a cluster that is the stack's own
# storage, which the journey does not set up. Until then, said rather than attempted.
JOURNEY_PENDING = (
    "runs on the local target only: its feature flow writes Parquet files that Feast's offline "
    "store and the training read on this machine, where a flow-run pod cannot write, and it "
    "serves the model it registers, which needs an artifact store Seldon's storage initializer "
    "can fetch from")
# The credential each tool's checks read, by the run secret that holds it.
CREDENTIALS = {"jupyterhub": {"dummy_password": "dummy_password"}}


# Each tool's external database: the tfvars naming host, port, database and user, and the
# run secret holding its password (the root variable, or the user-provided Secret's value).
EXTERNAL_DATABASES = {
    "mlflow": (("db_host", "db_port", "database_name", "db_username"), "db_password"),
    "prefect": (("postgresql_external_hostname", "postgresql_service_port",
                 "postgresql_database", "postgresql_username"),
                "{postgresql_existing_secret}.password"),
}
DATABASE_TIMEOUT_S = 5.0


def _uses_external_database(tool: str, scenario: Scenario) -> bool:
    if tool == "mlflow":
        return MlflowSettings.from_scenario(scenario).external_database
    return tool == "prefect" and not scenario.var("postgresql_use_subchart")


def reach_databases(stack: Stack, scenario: Scenario, secrets: SecretStore,
                    connect: Callable[..., Any] = socket.create_connection) -> dict[str, str]:
    """Give the `postgres-backend` checks the scenario's external database where this
    machine reaches it too (the checks read it directly, as the local target serves it);
    return, per check id, why not where it does not answer here.
    """
    skipped = {}
    for tool, (names, secret) in EXTERNAL_DATABASES.items():
        entry = stack.tools.get(tool)
        if entry is None or not _uses_external_database(tool, scenario):
            continue
        database = external_database_of(scenario, *names)
        entry.expect["external_database"] = database
        host, port = str(database["host"]), int(str(database["port"]))
        try:
            connect((host, port), timeout=DATABASE_TIMEOUT_S).close()
        except OSError as exc:
            skipped[f"{tool}.postgres-backend"] = (
                f"the scenario's database {host}:{port} does not answer from this machine "
                f"({exc.strerror or exc}); the check reads it directly, so it runs only where "
                "both the cluster and the harness reach it")
            continue
        name = secret.format(postgresql_existing_secret=scenario.var(
            "postgresql_existing_secret"))
        try:
            entry.credentials["database"] = secrets.ref(name)
        except KeyError:
            skipped[f"{tool}.postgres-backend"] = (
                f"the run has no password for the scenario's database {host}:{port}")
            continue
        entry.endpoints["database"] = f"postgresql://{host}:{port}"
    return skipped


def forward_of(tool: str, endpoint: dict[str, Any]) -> Forward | None:
    """The port-forward a client of `tool` needs (None when its endpoint is no client's)."""
    if tool not in CLIENT_URLS:
        return None
    if tool == "seldon":  # models go to the operator's namespace: the run's, deleted with it
        return api_proxy(tool, str(endpoint["namespace"]))
    return Forward(tool, str(endpoint["namespace"]), str(endpoint["service"]),
                   int(endpoint["port"]))


def model_store(scenario: Scenario) -> str | None:
    """How a modelUri names MLflow's artifact store on a cluster: the store's URI when it is
    one both MLflow and Seldon's storage initializer reach (`s3://`, `gs://`), else None (a
    path inside MLflow's pod, which nothing else reads).
    """
    mlflow = MlflowSettings.from_scenario(scenario)
    return None if mlflow.artifacts_in_pod else mlflow.default_artifact_root


def tool_entry(tool: str, port: int, scenario: Scenario,
               releases: Sequence[Release] = (), namespace: str = "") -> ToolEntry:
    """The tool as the checks see it through its forward on local `port`; `releases` are the
    scenario's rendered releases (what the cluster runs, where a check compares with it);
    `namespace` is the tool's run namespace.
    """
    name, template = CLIENT_URLS[tool]
    expect: dict[str, Any] = {}
    if tool == "dask":  # as the local target: the worker count and environment asked for
        dask = DaskSettings.from_scenario(scenario)
        expect = {"workers": dask.worker_replicas, "worker_environment": dask.environment}
    elif tool == "prefect":
        prefect = PrefectSettings.from_scenario(scenario)
        worker = next((r.values for r in releases if r.chart == "prefect-worker"), {})
        expect = {"worker": prefect.agent_enabled, "work_pool": prefect.agent_work_pool_name,
                  "work_queues": list(prefect.agent_prefect_labels), "database": "postgresql",
                  # Flow-run pods cannot see this machine: deployments carry their code.
                  "flow_code": "carried",
                  # The pool the chart's worker creates: its type is the worker's own.
                  "work_pool_type": ((worker.get("worker") or {}).get("config") or {}).get(
                      "type", "kubernetes")}
    elif tool == "feast":  # the stores are added by the target (harness.k8s.feast_client)
        feast = FeastSettings.from_scenario(scenario)
        expect = {"project": feast.feast_project, "online_store": feast.online_store,
                  "registry": "sql" if feast.feast_posgresql_enabled else "file"}
    elif tool == "seldon":  # models go where the operator runs: the run's namespace
        expect = {"namespace": namespace, "model_store": model_store(scenario)}
    elif tool == "jupyterhub":
        hub = next((r.values for r in releases if r.chart == "jupyterhub"), {})
        storage = (hub.get("singleuser") or {}).get("storage") or {}
        expect = {"authenticator": "github" if scenario.var("oauth_github_enable") else "dummy",
                  "storage_path": str(scenario.var("singleuser_storage_mount_path")),
                  # The chart's default type, `dynamic`, claims a volume per user.
                  "storage_volume": storage.get("type", "dynamic") != "none"}
    return ToolEntry(endpoints={name: template.format(address=f"{LOCALHOST}:{port}")},
                     expect=expect)


def pending(tools: list[str], scenario: Scenario | None = None) -> dict[str, str]:
    """Why checks of `tools` do not run on a cluster: per tool, or per check id."""
    reasons = {ident: reason for ident, reason in PENDING_CHECKS.items()
               if ident.split(".", 1)[0] in tools}
    for tool in tools:
        if tool not in RUNS_ON_CLUSTER:
            reasons[tool] = PENDING.format(tool=tool)
    if tools:
        reasons["journey.train-and-serve"] = JOURNEY_PENDING
    if "seldon" in tools and scenario is not None and model_store(scenario) is None:
        why = ("no model could be served: MLflow keeps artifacts at "
               f"{scenario.var('default_artifact_root')!r} inside its pod "
               "(default_artifact_root), which Seldon's storage initializer cannot fetch "
               "from; it needs an object store both reach (s3://, gs://)")
        reasons.update(dict.fromkeys(SELDON_SERVING_CHECKS, why))
    return reasons
