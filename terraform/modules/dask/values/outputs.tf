output "releases" {
  description = "Helm releases of this module: `{ name = { chart, version, repository } }`."
  value = {
    dask = {
      chart      = "dask"
      version    = var.chart_version
      repository = "https://helm.dask.org/"
    }
  }
}

output "values" {
  description = "Helm values of each release, as objects: `{ name = values }`."
  value       = { dask = local.values }
}
