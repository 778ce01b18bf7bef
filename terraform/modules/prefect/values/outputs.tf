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

output "endpoint" {
  description = "How a client reaches the Prefect API in the cluster: service, namespace, port, and the secrets holding credentials."
  value = {
    service      = "prefect-server"
    namespace    = var.namespace
    port         = 4200
    secret_names = var.postgresql_existing_secret != "" ? [var.postgresql_existing_secret] : (var.postgresql_use_subchart ? ["prefect-server-postgresql"] : [])
  }
}

output "user_provided" {
  description = "Objects the releases use that the user creates in the namespace beforehand (the module does not): `{ secrets = [{ name, how }] }`."
  value = {
    secrets = var.postgresql_existing_secret == "" ? [] : [{
      name = var.postgresql_existing_secret
      how = var.postgresql_use_subchart ? join(" ", [
        "kubectl create secret generic ${var.postgresql_existing_secret} --namespace ${var.namespace}",
        "--from-literal=password=<database password>",
        "--from-literal=connection-string=postgresql+asyncpg://${var.postgresql_username}:<database password>@prefect-server-postgresql.${var.namespace}:${var.postgresql_service_port}/${var.postgresql_database}",
        ]) : join(" ", [
        "kubectl create secret generic ${var.postgresql_existing_secret} --namespace ${var.namespace}",
        "--from-literal=password=<database password>",
      ])
    }]
  }
}
