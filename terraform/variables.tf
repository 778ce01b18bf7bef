################################################################################
# Cluster
################################################################################

variable "kubeconfig_path" {
  description = "Path of the kubeconfig file the helm and kubernetes providers use."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "Kubeconfig context to install into; `minikube` by default."
  type        = string
  default     = "minikube"
}

################################################################################
# jupyterhub
################################################################################

variable "enable_jupyterhub" {
  description = "Whether to install JupyterHub; `false` creates nothing."
  type        = bool
  default     = true
}

variable "jupyterhub_namespace" {
  description = "Namespace to install JupyterHub into (the root module creates it)."
  type        = string
  default     = "jhub"
}

variable "jupyterhub_chart_version" {
  description = "Version of the `jupyterhub` chart (zero-to-jupyterhub) to install."
  type        = string
  default     = "4.4.0"
}

variable "jhub_proxy_https_enabled" {
  description = "Whether HTTPS is enabled on the proxy."
  type        = bool
  default     = false
}

variable "jhub_proxy_https_hosts" {
  description = "Your domains, required for automatic HTTPS."
  type        = list(string)
  default     = []
}

variable "jhub_proxy_secret_token" {
  description = "A 32-byte random string, as 64 hex characters, securing hub to proxy communication (`openssl rand -hex 32`)."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[0-9a-fA-F]{64}$", var.jhub_proxy_secret_token))
    error_message = "jhub_proxy_secret_token must be 64 hexadecimal characters (32 bytes); generate one with `openssl rand -hex 32`."
  }
}

variable "jhub_proxy_https_letsencrypt_contact_email" {
  description = "Contact email for the HTTPS certificates Let's Encrypt provisions automatically."
  type        = string
  default     = ""
}

variable "oauth_github_enable" {
  description = "Whether users log in with GitHub OAuth (`GitHubOAuthenticator`); `false` uses the `DummyAuthenticator`."
  type        = bool
  default     = false
}

variable "oauth_github_client_id" {
  description = "GitHub OAuth app client id; required when `oauth_github_enable` is `true`."
  type        = string
  default     = ""
}

variable "oauth_github_client_secret" {
  description = "GitHub OAuth app client secret; required when `oauth_github_enable` is `true`."
  type        = string
  default     = ""
  sensitive   = true
}

variable "oauth_github_admin_users" {
  description = "GitHub user names that are JupyterHub administrators."
  type        = list(string)
  default     = []
}

variable "oauth_github_callback_url" {
  description = "URL GitHub redirects to after authorisation, e.g. `https://hub.example.com/hub/oauth_callback`."
  type        = string
  default     = ""
}

variable "oauth_github_allowed_organizations" {
  description = "GitHub organizations whose members may log in; empty allows every GitHub user."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for org in var.oauth_github_allowed_organizations : trimspace(org) != ""])
    error_message = "oauth_github_allowed_organizations must not contain empty names; use [] to allow every GitHub user."
  }
}

variable "dummy_password" {
  description = "Shared password of the `DummyAuthenticator`, used when `oauth_github_enable` is `false`."
  type        = string
  default     = "a-shared-secret-password"
  sensitive   = true
}

variable "singleuser_profile_list" {
  description = "Images a user can choose from when spawning a server (KubeSpawner `profile_list` entries)."
  type        = any
  default     = []
}

variable "singleuser_image_pull_secrets" {
  description = "Image pull secrets (`[{ name = \"regcred\" }]`) for user server images in a private registry."
  type        = list(object({ name = string }))
  default     = null
}

variable "singleuser_image_pull_policy" {
  description = "Pull policy of user server images: `Always`, `IfNotPresent` or `Never`."
  type        = string
  default     = "Always"

  validation {
    condition     = contains(["Always", "IfNotPresent", "Never"], var.singleuser_image_pull_policy)
    error_message = "singleuser_image_pull_policy must be one of Always, IfNotPresent, Never."
  }
}

variable "singleuser_memory_guarantee" {
  description = "Memory guaranteed to each user server, e.g. `1G`."
  type        = string
  default     = "1G"
}

variable "singleuser_storage_capacity" {
  description = "Size of each user's persistent volume, e.g. `1G`."
  type        = string
  default     = "1G"
}

variable "singleuser_storage_mount_path" {
  description = "Where the user's persistent volume is mounted in the server."
  type        = string
  default     = "/home/jovyan/persistent"
}

################################################################################
# prefect
################################################################################

variable "enable_prefect" {
  description = "Whether to install Prefect; `false` creates nothing."
  type        = bool
  default     = true
}

variable "prefect_namespace" {
  description = "Namespace to install Prefect into (the root module creates it)."
  type        = string
  default     = "prefect"
}

variable "prefect_chart_version" {
  description = "Version of the `prefect-server` chart to install."
  type        = string
  default     = "2026.8.18172642"
}

variable "prefect_worker_chart_version" {
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

################################################################################
# dask
################################################################################

variable "enable_dask" {
  description = "Whether to install Dask; `false` creates nothing."
  type        = bool
  default     = true
}

variable "dask_namespace" {
  description = "Namespace to install Dask into (the root module creates it)."
  type        = string
  default     = "dask"
}

variable "dask_chart_version" {
  description = "Version of the `dask` chart to install."
  type        = string
  default     = "2024.1.1"
}

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

################################################################################
# feast
################################################################################

variable "enable_feast" {
  description = "Whether to install Feast; `false` creates nothing."
  type        = bool
  default     = true
}

variable "feast_namespace" {
  description = "Namespace to install Feast into (the root module creates it)."
  type        = string
  default     = "feast"
}

variable "feast_chart_version" {
  description = "Version of the `feast-feature-server` chart, used for the online, registry and offline servers."
  type        = string
  default     = "0.66.0"
}

variable "feast_postgresql_chart_version" {
  description = "Version of the Bitnami `postgresql` chart holding the registry and offline store."
  type        = string
  default     = "17.1.0"
}

variable "feast_redis_chart_version" {
  description = "Version of the Bitnami `redis` chart holding the online store."
  type        = string
  default     = "23.1.1"
}

variable "feast_project" {
  description = "Name of the Feast project in the generated `feature_store.yaml`."
  type        = string
  default     = "feast"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.feast_project))
    error_message = "feast_project may contain only letters, digits and underscores."
  }
}

variable "feast_core_enabled" {
  description = "Whether to install Feast Core; today a registry server (`feast_mode = registry`) takes its place."
  type        = bool
  default     = true
}

variable "feast_online_serving_enabled" {
  description = "Whether to install the online feature server."
  type        = bool
  default     = true
}

variable "feast_jupyter_enabled" {
  description = "Whether to install Feast's Jupyter; accepted but installs nothing (use the JupyterHub module)."
  type        = bool
  default     = false
}

variable "feast_jobservice_enabled" {
  description = "Whether to install the Feast job service; today an offline feature server (`feast_mode = offline`) takes its place."
  type        = bool
  default     = true
}

variable "feast_posgresql_enabled" {
  description = "Whether to install PostgreSQL for the SQL registry and offline store (name spelt as in the seed)."
  type        = bool
  default     = true
}

variable "feast_postgresql_password" {
  description = "Password of the Feast PostgreSQL user."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.feast_postgresql_password) > 0
    error_message = "feast_postgresql_password must not be empty."
  }
}

variable "feast_kafka_enabled" {
  description = "Whether to install Kafka; accepted but installs nothing (streams reach Feast through the feature server's push API)."
  type        = bool
  default     = false
}

variable "feast_redis_enabled" {
  description = "Whether to install Redis as the online store; otherwise PostgreSQL (or SQLite without it) holds online features."
  type        = bool
  default     = true
}

variable "feast_redis_use_password" {
  description = "Whether Redis requires a password (generated by the chart, read by Feast from its Secret)."
  type        = bool
  default     = false
}

variable "feast_prometheus_enabled" {
  description = "Whether the feature servers export metrics (`metrics.enabled`); no Prometheus is installed."
  type        = bool
  default     = false
}

variable "feast_prometheus_statsd_exporter_enabled" {
  description = "Whether to install the StatsD exporter; accepted but installs nothing (metrics are exported over OpenTelemetry)."
  type        = bool
  default     = false
}

variable "feast_grafana_enabled" {
  description = "Whether to install Grafana; accepted but installs nothing (bring your own dashboards)."
  type        = bool
  default     = true
}

################################################################################
# mlflow
################################################################################

variable "enable_mlflow" {
  description = "Whether to install MLflow; `false` creates nothing."
  type        = bool
  default     = true
}

variable "mlflow_namespace" {
  description = "Namespace to install MLflow into (the root module creates it)."
  type        = string
  default     = "mlflow"
}

variable "mlflow_chart_version" {
  description = "Version of the `mlflow` chart (community-charts) to install."
  type        = string
  default     = "1.11.5"
}

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

################################################################################
# seldon
################################################################################

variable "enable_seldon" {
  description = "Whether to install the Seldon Core operator; `false` creates nothing."
  type        = bool
  default     = true
}

variable "seldon_namespace" {
  description = "Namespace to install the Seldon Core operator into (the root module creates it)."
  type        = string
  default     = "seldon-system"
}

variable "seldon_chart_version" {
  description = "Version of the `seldon-core-operator` chart; `1.17.1` is the last Apache-2.0 release (1.18+ is under the Business Source License)."
  type        = string
  default     = "1.17.1"
}

variable "istio_enabled" {
  description = "Whether SeldonDeployments are exposed through Istio (an Istio install with its CRDs and gateway must already exist)."
  type        = bool
  default     = false
}

variable "istio_gateway" {
  description = "Istio gateway SeldonDeployments attach to, as `namespace/name`; used when `istio_enabled` is `true`."
  type        = string
  default     = "istio-system/seldon-gateway"
}

variable "usage_metrics_enabled" {
  description = "Whether the operator sends anonymous usage metrics to Seldon."
  type        = bool
  default     = true
}
