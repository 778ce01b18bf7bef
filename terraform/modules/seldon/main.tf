################################################################################
# Values
################################################################################

module "values" {
  source = "./values"

  create                = var.create
  namespace             = var.namespace
  chart_version         = var.chart_version
  istio_enabled         = var.istio_enabled
  istio_gateway         = var.istio_gateway
  usage_metrics_enabled = var.usage_metrics_enabled
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
