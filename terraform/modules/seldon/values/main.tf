# Helm values of the seldon-core-operator chart, computed without providers so
# they can be rendered and checked offline.

locals {
  values = {
    istio = {
      enabled = var.istio_enabled
      gateway = var.istio_gateway
    }
    usageMetrics = {
      enabled = var.usage_metrics_enabled
    }
    # The operator's service account, spelt as the chart spells it (the seed's
    # module misspelt it `serserviceAccountName`, which the chart ignored).
    serviceAccount = {
      create = true
      name   = "seldon-manager"
    }
  }
}
