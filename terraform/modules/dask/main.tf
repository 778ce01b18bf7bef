################################################################################
# Values
################################################################################

module "values" {
  source = "./values"

  create                           = var.create
  namespace                        = var.namespace
  chart_version                    = var.chart_version
  worker_name                      = var.worker_name
  worker_replicas                  = var.worker_replicas
  worker_image_repository          = var.worker_image_repository
  worker_image_tag                 = var.worker_image_tag
  worker_image_pull_policy         = var.worker_image_pull_policy
  worker_image_dask_worker_command = var.worker_image_dask_worker_command
  worker_image_pull_secret         = var.worker_image_pull_secret
  worker_environment_variables     = var.worker_environment_variables
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
