################################################################################
# Release
################################################################################

variable "create" {
  description = "Whether to install Prefect; `false` creates nothing."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "Namespace to install Prefect into (it must exist)."
  type        = string
  default     = "prefect"
}

variable "chart_version" {
  description = "Version of the `prefect-server` chart to install."
  type        = string
  default     = "2026.8.18172642"
}

variable "worker_chart_version" {
  description = "Version of the `prefect-worker` chart to install (the seed's agent)."
  type        = string
  default     = "2026.8.18172642"
}

variable "prefect_version_tag" {
  description = "Prefect image tag for server and worker, e.g. `3.8.3-python3.11`; empty uses the tag the chart version pins."
  type        = string
  default     = ""

  validation {
    condition     = var.prefect_version_tag != "latest"
    error_message = "prefect_version_tag = \"latest\" pulls images that do not match the chart; give a version such as 3.8.3-python3.11, or \"\" for the chart's own."
  }
}

################################################################################
# Agent (a Prefect worker and its work pool)
################################################################################

variable "agent_enabled" {
  description = "Whether the Prefect Kubernetes worker (the seed's agent) is deployed."
  type        = bool
  default     = true
}

variable "agent_prefect_labels" {
  description = "Scheduling labels of the agent; each becomes a work queue the worker polls in its work pool."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for label in var.agent_prefect_labels : trimspace(label) != ""])
    error_message = "agent_prefect_labels must not contain empty names; use [] for the pool's default queue."
  }
}

variable "agent_work_pool_name" {
  description = "Work pool the worker serves (created by the worker if missing)."
  type        = string
  default     = "default-agent-pool"
}

variable "agent_image_name" {
  description = "Image repository of the worker."
  type        = string
  default     = "prefecthq/prefect"
}

variable "agent_image_tag" {
  description = "Image tag of the worker; empty derives it from `prefect_version_tag` (plus `-kubernetes`) or the chart."
  type        = string
  default     = ""
}

variable "agent_image_pull_policy" {
  description = "Pull policy of the worker image: `Always`, `IfNotPresent` or `Never`."
  type        = string
  default     = "Always"

  validation {
    condition     = contains(["Always", "IfNotPresent", "Never"], var.agent_image_pull_policy)
    error_message = "agent_image_pull_policy must be one of Always, IfNotPresent, Never."
  }
}

################################################################################
# PostgreSQL
################################################################################

variable "postgresql_database" {
  description = "Name of the PostgreSQL database of the Prefect server."
  type        = string
  default     = "prefect"
}

variable "postgresql_username" {
  description = "User the Prefect server authenticates to PostgreSQL as."
  type        = string
  default     = "prefect"
}

variable "postgresql_existing_secret" {
  description = "Existing Secret holding the database password (key `password`); required when `postgresql_use_subchart` is `false`."
  type        = string
  default     = ""
}

variable "postgresql_service_port" {
  description = "Port the database is reached at."
  type        = number
  default     = 5432
}

variable "postgresql_external_hostname" {
  description = "Host of an externally managed PostgreSQL; used when `postgresql_use_subchart` is `false`."
  type        = string
  default     = ""
}

variable "postgresql_use_subchart" {
  description = "Whether the chart deploys its own PostgreSQL (`true`) or uses an external one (`false`)."
  type        = bool
  default     = true
}

variable "postgresql_persistence_enabled" {
  description = "Whether the bundled PostgreSQL keeps its data on a PVC between deployments (delete the PVC after password changes)."
  type        = bool
  default     = false
}

variable "postgresql_persistence_size" {
  description = "Size of the bundled PostgreSQL's volume, e.g. `8G`; used when `postgresql_use_subchart` is `true` and `postgresql_persistence_enabled` is `true`."
  type        = string
  default     = "8G"
}

variable "postgresql_init_user" {
  description = "PostgreSQL user that runs the initdb scripts."
  type        = string
  default     = "postgres"
}
