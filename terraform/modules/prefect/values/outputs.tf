output "releases" {
  description = "Helm releases of this module: `{ name = { chart, version, repository } }`."
  value = merge(
    {
      prefect-server = {
        chart      = "prefect-server"
        version    = var.chart_version
        repository = "https://prefecthq.github.io/prefect-helm"
      }
    },
    { for k, v in {
      prefect-worker = {
        chart      = "prefect-worker"
        version    = var.worker_chart_version
        repository = "https://prefecthq.github.io/prefect-helm"
      }
    } : k => v if var.agent_enabled },
  )
}

output "values" {
  description = "Helm values of each release, as objects: `{ name = values }`."
  value = merge(
    { prefect-server = local.server_values },
    { for k, v in { prefect-worker = local.worker_values } : k => v if var.agent_enabled },
  )

  precondition {
    condition     = var.postgresql_use_subchart || (var.postgresql_external_hostname != "" && var.postgresql_existing_secret != "")
    error_message = "postgresql_external_hostname and postgresql_existing_secret are required when postgresql_use_subchart is false."
  }
}
