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
