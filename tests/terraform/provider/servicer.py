"""The plugin protocol's Provider service for one provider, driven by its committed schema."""

from __future__ import annotations

import copy
import fcntl
import json
import os
import threading
from typing import Any

import grpc
from tf.gen import tfplugin_pb2 as pb
from tf.gen import tfplugin_pb2_grpc as rpc
from tf.types import Unknown
from tf.utils import read_dynamic_value, to_dynamic_value

from . import validators, values
from .schema import load, schema_pb, write_only_names

RECORD_ENV = "TFPROVIDER_RECORD"
# Schema is optional: Terraform may reuse the schema it already fetched in this run.
_CAPABILITIES = pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=True)
# Arguments whose change makes the real providers replace the object rather than update it.
_REPLACE: dict[str, list[list[str | int]]] = {
    "helm_release": [["name"], ["namespace"]],
    "kubernetes": [["metadata", 0, "name"], ["metadata", 0, "namespace"]],
}


def record(action: str, type_name: str, state: dict[str, Any] | None) -> None:
    """Append what a real provider would have sent to the API, one JSON line per change."""
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    line = json.dumps({"action": action, "type": type_name, "values": values.to_json(state)})
    with open(path, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # terraform applies in parallel; two providers share the file
        f.write(line + "\n")


def _get(value: Any, path: list[str | int]) -> Any:
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


def _path_pb(path: list[str | int]) -> pb.AttributePath:
    return pb.AttributePath(
        steps=[
            pb.AttributePath.Step(element_key_int=s)
            if isinstance(s, int)
            else pb.AttributePath.Step(attribute_name=s)
            for s in path
        ]
    )


class SchemaProvider(rpc.ProviderServicer):  # type: ignore[misc]
    """Serves one provider's real schema; plans and applies without any cluster."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.schema = load(provider)
        self._lock = threading.Lock()
        self._schema_response: Any = None

    def _block(self, type_name: str, data: bool = False) -> dict[str, Any]:
        section = "data_source_schemas" if data else "resource_schemas"
        return dict(self.schema[section][type_name]["block"])

    def GetMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.GetMetadata.Response(
            server_capabilities=_CAPABILITIES,
            resources=[
                pb.GetMetadata.ResourceMetadata(type_name=n)
                for n in self.schema["resource_schemas"]
            ],
            data_sources=[
                pb.GetMetadata.DataSourceMetadata(type_name=n)
                for n in self.schema["data_source_schemas"]
            ],
        )

    def GetProviderSchema(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self._lock:  # terraform asks several times per run; build the message once
            if self._schema_response is None:
                self._schema_response = pb.GetProviderSchema.Response(
                    provider=schema_pb(self.schema["provider"]),
                    provider_meta=pb.Schema(block=pb.Schema.Block()),
                    resource_schemas={
                        n: schema_pb(s) for n, s in self.schema["resource_schemas"].items()
                    },
                    data_source_schemas={
                        n: schema_pb(s) for n, s in self.schema["data_source_schemas"].items()
                    },
                    server_capabilities=_CAPABILITIES,
                )
            return self._schema_response

    # Terraform itself checks configuration against the schema; the rest is validators.py.
    def ValidateProviderConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ValidateProviderConfig.Response()

    def ValidateResourceConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        config = read_dynamic_value(request.config)
        diagnostics = [
            pb.Diagnostic(
                severity=pb.Diagnostic.ERROR,
                summary="Invalid Attribute Value",
                detail=message,
                attribute=_path_pb(path),
            )
            for path, message in validators.check(request.type_name, config)
        ]
        return pb.ValidateResourceConfig.Response(diagnostics=diagnostics)

    def ValidateDataResourceConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ValidateDataResourceConfig.Response()

    def ConfigureProvider(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ConfigureProvider.Response()

    def StopProvider(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.StopProvider.Response()

    def UpgradeResourceState(self, request: Any, context: grpc.ServicerContext) -> Any:
        # State is always written by this same schema: hand it back as it was stored.
        return pb.UpgradeResourceState.Response(
            upgraded_state=pb.DynamicValue(json=request.raw_state.json)
        )

    def ReadResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        # Nothing drifts outside Terraform here: the stored state is the "live" object.
        return pb.ReadResource.Response(new_state=request.current_state, private=request.private)

    def PlanResourceChange(self, request: Any, context: grpc.ServicerContext) -> Any:
        proposed = read_dynamic_value(request.proposed_new_state)
        if proposed is None:  # destroy
            return pb.PlanResourceChange.Response(planned_state=request.proposed_new_state)
        type_name = request.type_name
        block = self._block(type_name)
        proposed.update(dict.fromkeys(write_only_names(block)))  # never planned nor stored
        prior = read_dynamic_value(request.prior_state)
        if prior is not None and values.to_json(prior) == values.to_json(proposed):
            return pb.PlanResourceChange.Response(planned_state=request.prior_state)  # no change
        values.plan(block, proposed, values.DEFAULTS.get(type_name, {}))
        replace: list[list[str | int]] = []
        if prior is not None:
            key = type_name if type_name in _REPLACE else self.provider
            replace = [p for p in _REPLACE.get(key, []) if _get(prior, p) != _get(proposed, p)]
            if type_name == "helm_release":
                proposed["metadata"] = Unknown  # a new revision is rolled out
        return pb.PlanResourceChange.Response(
            planned_state=to_dynamic_value(proposed),
            requires_replace=[_path_pb(p) for p in replace],
        )

    def ApplyResourceChange(self, request: Any, context: grpc.ServicerContext) -> Any:
        planned = read_dynamic_value(request.planned_state)
        type_name = request.type_name
        if planned is None:
            record("delete", type_name, read_dynamic_value(request.prior_state))
            return pb.ApplyResourceChange.Response(new_state=request.planned_state)
        action = "create" if read_dynamic_value(request.prior_state) is None else "update"
        block = self._block(type_name)
        new = copy.deepcopy(planned)
        values.fill(block, new, values.computed_by_api(type_name, planned))
        # Write-only values reach the provider only in the configuration: send, never store.
        config = read_dynamic_value(request.config) or {}
        record(action, type_name, {**new, **{n: config.get(n) for n in write_only_names(block)}})
        return pb.ApplyResourceChange.Response(
            new_state=to_dynamic_value(new), private=request.planned_private
        )

    def ImportResourceState(self, request: Any, context: grpc.ServicerContext) -> Any:
        diag = pb.Diagnostic(
            severity=pb.Diagnostic.ERROR,
            summary=f"{request.type_name}: import is not supported by the offline test provider",
        )
        return pb.ImportResourceState.Response(diagnostics=[diag])

    def ReadDataSource(self, request: Any, context: grpc.ServicerContext) -> Any:
        # No cluster to read from: every computed value comes back empty (but known).
        state = read_dynamic_value(request.config)
        block = self._block(request.type_name, data=True)
        values.plan(block, state, {})
        values.fill(block, state, values.computed_by_api(request.type_name, state))
        return pb.ReadDataSource.Response(state=to_dynamic_value(state))
