################################################################################
# Values
################################################################################

module "values" {
  source = "./values"

  create                 = var.create
  namespace              = var.namespace
  chart_version          = var.chart_version
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
}

################################################################################
# Private registry
################################################################################

resource "kubernetes_secret_v1" "registry" {
  count = var.create && var.docker_private_repo ? 1 : 0

  metadata {
    name      = module.values.pull_secret_name
    namespace = var.namespace
  }

  # Its content is computed by the values submodule, so it is rendered and checked offline.
  type = module.values.secrets[module.values.pull_secret_name].type
  data = module.values.secrets[module.values.pull_secret_name].data
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

  depends_on = [kubernetes_secret_v1.registry]
}
