################################################################################
# Values
################################################################################

module "values" {
  source = "./values"

  create                                   = var.create
  namespace                                = var.namespace
  chart_version                            = var.chart_version
  postgresql_chart_version                 = var.postgresql_chart_version
  redis_chart_version                      = var.redis_chart_version
  feast_project                            = var.feast_project
  feast_core_enabled                       = var.feast_core_enabled
  feast_online_serving_enabled             = var.feast_online_serving_enabled
  feast_jupyter_enabled                    = var.feast_jupyter_enabled
  feast_jobservice_enabled                 = var.feast_jobservice_enabled
  feast_posgresql_enabled                  = var.feast_posgresql_enabled
  feast_postgresql_password                = var.feast_postgresql_password
  feast_kafka_enabled                      = var.feast_kafka_enabled
  feast_redis_enabled                      = var.feast_redis_enabled
  feast_redis_use_password                 = var.feast_redis_use_password
  feast_prometheus_enabled                 = var.feast_prometheus_enabled
  feast_prometheus_statsd_exporter_enabled = var.feast_prometheus_statsd_exporter_enabled
  feast_grafana_enabled                    = var.feast_grafana_enabled
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
