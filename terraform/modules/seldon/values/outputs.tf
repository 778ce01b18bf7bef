output "releases" {
  description = "Helm releases of this module: `{ name = { chart, version, repository } }`."
  value = {
    seldon-core-operator = {
      chart      = "seldon-core-operator"
      version    = var.chart_version
      repository = "https://storage.googleapis.com/seldon-charts"
    }
  }
}

output "values" {
  description = "Helm values of each release, as objects: `{ name = values }`."
  value       = { seldon-core-operator = local.values }
}

output "endpoint" {
  description = "The Seldon Core operator's webhook service: service, namespace, port, and the secrets holding credentials."
  value = {
    service      = "seldon-webhook-service"
    namespace    = var.namespace
    port         = 443
    secret_names = ["seldon-webhook-server-cert"]
  }
}
