################################################################################
# Providers
################################################################################

provider "kubernetes" {
  config_path    = var.kubeconfig_path
  config_context = var.kube_context
}

provider "helm" {
  kubernetes = {
    config_path    = var.kubeconfig_path
    config_context = var.kube_context
  }
}

################################################################################
# Namespaces
################################################################################

locals {
  namespaces = {
    jupyterhub = var.enable_jupyterhub ? var.jupyterhub_namespace : null
    prefect    = var.enable_prefect ? var.prefect_namespace : null
    dask       = var.enable_dask ? var.dask_namespace : null
    feast      = var.enable_feast ? var.feast_namespace : null
    mlflow     = var.enable_mlflow ? var.mlflow_namespace : null
    seldon     = var.enable_seldon ? var.seldon_namespace : null
  }
}

# Tools may share a namespace: each distinct one is created once.
resource "kubernetes_namespace_v1" "this" {
  for_each = toset([for ns in values(local.namespaces) : ns if ns != null])

  metadata {
    name = each.key
    labels = {
      "app.kubernetes.io/part-of" = "mlops-reference-architecture"
    }
  }
}

################################################################################
# Tools
################################################################################

module "jupyterhub" {
  source = "./modules/jupyterhub"

  create                                     = var.enable_jupyterhub
  namespace                                  = var.jupyterhub_namespace
  chart_version                              = var.jupyterhub_chart_version
  jhub_proxy_https_enabled                   = var.jhub_proxy_https_enabled
  jhub_proxy_https_hosts                     = var.jhub_proxy_https_hosts
  jhub_proxy_secret_token                    = var.jhub_proxy_secret_token
  jhub_proxy_https_letsencrypt_contact_email = var.jhub_proxy_https_letsencrypt_contact_email
  oauth_github_enable                        = var.oauth_github_enable
  oauth_github_client_id                     = var.oauth_github_client_id
  oauth_github_client_secret                 = var.oauth_github_client_secret
  oauth_github_admin_users                   = var.oauth_github_admin_users
  oauth_github_callback_url                  = var.oauth_github_callback_url
  oauth_github_allowed_organizations         = var.oauth_github_allowed_organizations
  dummy_password                             = var.dummy_password
  singleuser_profile_list                    = var.singleuser_profile_list
  singleuser_image_pull_secrets              = var.singleuser_image_pull_secrets
  singleuser_image_pull_policy               = var.singleuser_image_pull_policy
  singleuser_memory_guarantee                = var.singleuser_memory_guarantee
  singleuser_storage_capacity                = var.singleuser_storage_capacity
  singleuser_storage_mount_path              = var.singleuser_storage_mount_path

  depends_on = [kubernetes_namespace_v1.this]
}

module "prefect" {
  source = "./modules/prefect"

  create                         = var.enable_prefect
  namespace                      = var.prefect_namespace
  chart_version                  = var.prefect_chart_version
  worker_chart_version           = var.prefect_worker_chart_version
  prefect_version_tag            = var.prefect_version_tag
  agent_enabled                  = var.agent_enabled
  agent_prefect_labels           = var.agent_prefect_labels
  agent_work_pool_name           = var.agent_work_pool_name
  agent_image_name               = var.agent_image_name
  agent_image_tag                = var.agent_image_tag
  agent_image_pull_policy        = var.agent_image_pull_policy
  postgresql_database            = var.postgresql_database
  postgresql_username            = var.postgresql_username
  postgresql_existing_secret     = var.postgresql_existing_secret
  postgresql_service_port        = var.postgresql_service_port
  postgresql_external_hostname   = var.postgresql_external_hostname
  postgresql_use_subchart        = var.postgresql_use_subchart
  postgresql_persistence_enabled = var.postgresql_persistence_enabled
  postgresql_persistence_size    = var.postgresql_persistence_size
  postgresql_init_user           = var.postgresql_init_user

  depends_on = [kubernetes_namespace_v1.this]
}

module "dask" {
  source = "./modules/dask"

  create                           = var.enable_dask
  namespace                        = var.dask_namespace
  chart_version                    = var.dask_chart_version
  worker_name                      = var.worker_name
  worker_replicas                  = var.worker_replicas
  worker_image_repository          = var.worker_image_repository
  worker_image_tag                 = var.worker_image_tag
  worker_image_pull_policy         = var.worker_image_pull_policy
  worker_image_dask_worker_command = var.worker_image_dask_worker_command
  worker_image_pull_secret         = var.worker_image_pull_secret
  worker_environment_variables     = var.worker_environment_variables

  depends_on = [kubernetes_namespace_v1.this]
}

module "feast" {
  source = "./modules/feast"

  create                                   = var.enable_feast
  namespace                                = var.feast_namespace
  chart_version                            = var.feast_chart_version
  postgresql_chart_version                 = var.feast_postgresql_chart_version
  redis_chart_version                      = var.feast_redis_chart_version
  feast_project                            = var.feast_project
  feast_core_enabled                       = var.feast_core_enabled
  feast_online_serving_enabled             = var.feast_online_serving_enabled
  feast_jupyter_enabled                    = var.feast_jupyter_enabled
  feast_jobservice_enabled                 = var.feast_jobservice_enabled
  feast_posgresql_enabled                  = var.feast_posgresql_enabled
  feast_postgresql_password                = var.feast_postgresql_password
  feast_kafka_enabled                      = var.feast_kafka_enabled
  feast_redis_enabled                      = var.feast_redis_enabled
  feast_redis_use_password                 = var.feast_redis_use_password
  feast_prometheus_enabled                 = var.feast_prometheus_enabled
  feast_prometheus_statsd_exporter_enabled = var.feast_prometheus_statsd_exporter_enabled
  feast_grafana_enabled                    = var.feast_grafana_enabled

  depends_on = [kubernetes_namespace_v1.this]
}

module "mlflow" {
  source = "./modules/mlflow"

  create                 = var.enable_mlflow
  namespace              = var.mlflow_namespace
  chart_version          = var.mlflow_chart_version
  db_host                = var.db_host
  db_username            = var.db_username
  db_password            = var.db_password
  database_name          = var.database_name
  db_port                = var.db_port
  default_artifact_root  = var.default_artifact_root
  image_pull_policy      = var.image_pull_policy
  image_repository       = var.image_repository
  image_tag              = var.image_tag
  service_type           = var.service_type
  docker_registry_server = var.docker_registry_server
  docker_auth_key        = var.docker_auth_key
  docker_private_repo    = var.docker_private_repo

  depends_on = [kubernetes_namespace_v1.this]
}

module "seldon" {
  source = "./modules/seldon"

  create                = var.enable_seldon
  namespace             = var.seldon_namespace
  chart_version         = var.seldon_chart_version
  istio_enabled         = var.istio_enabled
  istio_gateway         = var.istio_gateway
  usage_metrics_enabled = var.usage_metrics_enabled

  depends_on = [kubernetes_namespace_v1.this]
}
