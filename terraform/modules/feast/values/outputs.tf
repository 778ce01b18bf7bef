locals {
  server_chart = {
    chart      = "feast-feature-server"
    version    = var.chart_version
    repository = "https://feast-helm-charts.storage.googleapis.com"
  }
}

output "releases" {
  description = "Helm releases of this module: `{ name = { chart, version, repository } }`."
  value = merge(
    { for name, values in local.servers : name => local.server_chart if values != null },
    { for k, v in {
      feast-postgresql = {
        chart      = "postgresql"
        version    = var.postgresql_chart_version
        repository = "oci://registry-1.docker.io/bitnamicharts"
      }
    } : k => v if local.pg_on },
    { for k, v in {
      feast-redis = {
        chart      = "redis"
        version    = var.redis_chart_version
        repository = "oci://registry-1.docker.io/bitnamicharts"
      }
    } : k => v if local.redis_on },
  )
}

output "values" {
  description = "Helm values of each release, as objects: `{ name = values }`."
  sensitive   = true
  value = merge(
    { for name, values in local.servers : name => values if values != null },
    { for k, v in { feast-postgresql = local.postgresql } : k => v if local.pg_on },
    { for k, v in { feast-redis = local.redis } : k => v if local.redis_on },
  )
}

output "feature_store" {
  description = "The `feature_store.yaml` every Feast server gets, as an object (secrets are `$${VAR}` references)."
  value       = local.feature_store
}

output "endpoint" {
  description = "How a client reaches the Feast online feature server in the cluster: service, namespace, port, and the secrets holding credentials."
  value = {
    service      = "feast-feature-server"
    namespace    = var.namespace
    port         = 80
    secret_names = compact([var.feast_posgresql_enabled ? "feast-postgresql" : "", var.feast_redis_enabled && var.feast_redis_use_password ? "feast-redis" : ""])
  }
}
