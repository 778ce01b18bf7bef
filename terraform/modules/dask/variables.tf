################################################################################
# Release
################################################################################

variable "create" {
  description = "Whether to install Dask; `false` creates nothing."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "Namespace to install Dask into (it must exist)."
  type        = string
  default     = "dask"
}

variable "chart_version" {
  description = "Version of the `dask` chart to install."
  type        = string
  default     = "2024.1.1"
}

################################################################################
# Workers
################################################################################

variable "worker_name" {
  description = "Name of the Dask worker deployment."
  type        = string
  default     = "worker"
}

variable "worker_replicas" {
  description = "Number of Dask workers."
  type        = number
  default     = 3

  validation {
    condition     = var.worker_replicas >= 0 && floor(var.worker_replicas) == var.worker_replicas
    error_message = "worker_replicas must be a whole number, 0 or more."
  }
}

variable "worker_image_repository" {
  description = "Image repository of scheduler and workers (they must run the same Dask version)."
  type        = string
  default     = "ghcr.io/dask/dask"
}

variable "worker_image_tag" {
  description = "Image tag of scheduler and workers."
  type        = string
  default     = "2024.1.0"
}

variable "worker_image_pull_policy" {
  description = "Pull policy of the Dask image: `Always`, `IfNotPresent` or `Never`."
  type        = string
  default     = "IfNotPresent"

  validation {
    condition     = contains(["Always", "IfNotPresent", "Never"], var.worker_image_pull_policy)
    error_message = "worker_image_pull_policy must be one of Always, IfNotPresent, Never."
  }
}

variable "worker_image_dask_worker_command" {
  description = "Dask worker command, e.g. `dask-cuda-worker` for GPU workers."
  type        = string
  default     = "dask-worker"
}

variable "worker_image_pull_secret" {
  description = "Image pull secrets (`[{ name = \"regcred\" }]`) for a Dask image in a private registry."
  type        = list(object({ name = string }))
  default     = []

  validation {
    condition     = alltrue([for secret in var.worker_image_pull_secret : secret.name != ""])
    error_message = "worker_image_pull_secret entries need a non-empty name; use [] for none."
  }
}

variable "worker_environment_variables" {
  description = "Environment variables of the workers, as Kubernetes `env` entries (`[{ name = \"A\", value = \"1\" }]`)."
  type        = any
  default     = []

  validation {
    condition     = can([for e in var.worker_environment_variables : e.name]) && alltrue([for e in var.worker_environment_variables : try(e.name != "", false)])
    error_message = "worker_environment_variables must be a list of objects with a non-empty name, e.g. [{ name = \"A\", value = \"1\" }]."
  }
}
