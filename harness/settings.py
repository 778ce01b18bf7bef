"""Typed per-tool settings read from a scenario's root variables: what the checks expect.

What the local target runs comes from the modules' rendered values instead
(harness/launchers/chart_values.py), so a module that loses a value shows as a failed check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import BadInputError

if TYPE_CHECKING:
    from harness.scenario import Scenario

S = TypeVar("S", bound="ToolSettings")


class ToolSettings(BaseModel):
    """Base of the per-tool settings; each field is named after its root variable."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def from_scenario(cls: type[S], scenario: Scenario) -> S:
        """Build the settings from the scenario's values and the root module's defaults.

        Raises:
            BadInputError: a value has the wrong type or is out of range; names the field.

        """
        values: dict[str, Any] = {name: scenario.var(name) for name in cls.model_fields}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"])
            raise BadInputError(
                f"{scenario.path}: field 'tfvars.{field}': {error['msg']} "
                f"(got {error.get('input')!r})"
            ) from exc


class MlflowSettings(ToolSettings):
    """MLflow tracking server: where artifacts go, and its backend store (`db_*`)."""

    default_artifact_root: str = Field(min_length=1)
    db_host: str
    db_port: int = Field(ge=1, le=65535)
    db_username: str = Field(min_length=1)
    database_name: str = Field(min_length=1)

    @property
    def external_database(self) -> bool:
        """Whether the backend store is an external PostgreSQL (the module's rule: `db_host`)."""
        return bool(self.db_host)

    @property
    def artifacts_in_pod(self) -> bool:
        """Whether `default_artifact_root` is a path inside the server's container (no URI
        scheme such as `s3://`): nothing outside the pod reads it, and it goes with the pod.
        """
        return "://" not in self.default_artifact_root


class DaskSettings(ToolSettings):
    """Dask cluster: how many workers, and the environment each one gets."""

    worker_replicas: int = Field(ge=1, le=64)
    worker_environment_variables: list[dict[str, str]]

    @field_validator("worker_environment_variables", mode="before")
    @classmethod
    def _drop_empty(cls, value: Any) -> Any:
        # The seed's default is `[{}]`: an empty entry means "no variable".
        return [entry for entry in value if entry] if isinstance(value, list) else value

    @field_validator("worker_environment_variables")
    @classmethod
    def _name_and_value(cls, value: list[dict[str, str]]) -> list[dict[str, str]]:
        for entry in value:
            if set(entry) != {"name", "value"}:
                msg = f"each entry needs exactly `name` and `value`, got keys {sorted(entry)}"
                raise ValueError(msg)
        return value

    @property
    def environment(self) -> dict[str, str]:
        """The workers' environment variables as a mapping."""
        return {entry["name"]: entry["value"] for entry in self.worker_environment_variables}


class PrefectSettings(ToolSettings):
    """Prefect server and worker, named after the root variables."""

    agent_enabled: bool
    agent_prefect_labels: list[str]
    agent_work_pool_name: str = Field(min_length=1)
    postgresql_database: str = Field(min_length=1)
    postgresql_username: str = Field(min_length=1)
    postgresql_use_subchart: bool
    postgresql_external_hostname: str
    postgresql_existing_secret: str
