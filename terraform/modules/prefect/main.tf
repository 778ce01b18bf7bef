################################################################################
# Values
################################################################################

module "values" {
  source = "./values"

  create                         = var.create
  namespace                      = var.namespace
  chart_version                  = var.chart_version
  worker_chart_version           = var.worker_chart_version
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
}

################################################################################
# Releases
################################################################################

resource "helm_release" "this" {
  for_each = { for name, release in module.values.releases : name => release if var.create }

  name       = each.key
  namespace  = var.namespace
  repository = each.value.repository
  chart      = each.value.chart
  version    = each.value.version
  values     = [yamlencode(module.values.values[each.key])]
  timeout    = 600
}
