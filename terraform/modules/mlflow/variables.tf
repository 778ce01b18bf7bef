################################################################################
# Release
################################################################################

variable "create" {
  description = "Whether to install MLflow; `false` creates nothing."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "Namespace to install MLflow into (it must exist)."
  type        = string
  default     = "mlflow"
}

variable "chart_version" {
  description = "Version of the `mlflow` chart (community-charts) to install."
  type        = string
  default     = "1.11.5"
}

################################################################################
# Backend store
################################################################################

variable "db_host" {
  description = "Host of an external PostgreSQL backend store; empty deploys the chart's bundled PostgreSQL."
  type        = string
  default     = ""
}

variable "db_username" {
  description = "PostgreSQL user of the backend store."
  type        = string
  default     = "mlflow"
}

variable "db_password" {
  description = "PostgreSQL password of the backend store."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.db_password) > 0
    error_message = "db_password must not be empty."
  }
}

variable "database_name" {
  description = "PostgreSQL database of the backend store."
  type        = string
  default     = "mlflow"
}

variable "db_port" {
  description = "Port of the external PostgreSQL backend store; used when `db_host` is set (the bundled one listens on 5432)."
  type        = number
  default     = 5432
}

variable "default_artifact_root" {
  description = "Local or remote path (e.g. `s3://bucket/path`) where runs store artifacts."
  type        = string
  default     = "/tmp"

  validation {
    condition     = var.default_artifact_root != ""
    error_message = "default_artifact_root must not be empty: it is mandatory with a database backend store."
  }
}

################################################################################
# Image and service
################################################################################

variable "image_pull_policy" {
  description = "Pull policy of the MLflow image: `Always`, `IfNotPresent` or `Never`."
  type        = string
  default     = "IfNotPresent"

  validation {
    condition     = contains(["Always", "IfNotPresent", "Never"], var.image_pull_policy)
    error_message = "image_pull_policy must be one of Always, IfNotPresent, Never."
  }
}

variable "image_repository" {
  description = "Image repository of the MLflow server."
  type        = string
  default     = "burakince/mlflow"
}

variable "image_tag" {
  description = "Image tag of the MLflow server; empty uses the chart's appVersion."
  type        = string
  default     = ""
}

variable "service_type" {
  description = "Kubernetes service type of the tracking server: `ClusterIP`, `NodePort` or `LoadBalancer`."
  type        = string
  default     = "NodePort"

  validation {
    condition     = contains(["ClusterIP", "NodePort", "LoadBalancer"], var.service_type)
    error_message = "service_type must be one of ClusterIP, NodePort, LoadBalancer."
  }
}

################################################################################
# Private registry
################################################################################

variable "docker_registry_server" {
  description = "Registry server of a private MLflow image, e.g. `registry.example.com`; required when `docker_private_repo` is `true`."
  type        = string
  default     = ""
}

variable "docker_auth_key" {
  description = "Base64 of `username:password` for the registry (as in `~/.docker/config.json`); required when `docker_private_repo` is `true`."
  type        = string
  default     = ""
  sensitive   = true
}

variable "docker_private_repo" {
  description = "Whether the MLflow image comes from a private registry (creates an image pull secret)."
  type        = bool
  default     = false
}
