# Helm values of Feast's servers and their stores, computed without providers so
# they can be rendered and checked offline.

locals {
  svc      = "${var.namespace}.svc.cluster.local"
  pg_host  = "feast-postgresql.${local.svc}"
  pg_user  = "feast"
  pg_db    = "feast"
  redis_on = var.feast_redis_enabled
  pg_on    = var.feast_posgresql_enabled

  # Feast expands ${VAR} in feature_store.yaml: secrets stay in Kubernetes Secrets.
  pg_store = {
    host      = local.pg_host
    port      = 5432
    database  = local.pg_db
    db_schema = "public"
    user      = local.pg_user
    password  = "$${FEAST_POSTGRES_PASSWORD}"
  }
  redis_password = var.feast_redis_use_password ? ",password=$${FEAST_REDIS_PASSWORD}" : ""

  registry = local.pg_on ? {
    registry_type     = "sql"
    path              = "postgresql+psycopg://${local.pg_user}:$${FEAST_POSTGRES_PASSWORD}@${local.pg_host}:5432/${local.pg_db}"
    cache_ttl_seconds = 60
    } : {
    registry_type     = "file"
    path              = "/tmp/registry.db"
    cache_ttl_seconds = 60
  }

  online_store = [
    { type = "sqlite", path = "/tmp/online_store.db" },
    merge({ type = "postgres" }, local.pg_store),
    { type = "redis", connection_string = "feast-redis-master.${local.svc}:6379${local.redis_password}" },
  ][local.redis_on ? 2 : (local.pg_on ? 1 : 0)]

  offline_store = [{ type = "file" }, merge({ type = "postgres" }, local.pg_store)][local.pg_on ? 1 : 0]

  feature_store = {
    project                          = var.feast_project
    provider                         = "local"
    registry                         = local.registry
    online_store                     = local.online_store
    offline_store                    = local.offline_store
    entity_key_serialization_version = 3
  }

  env = concat(
    local.pg_on ? [{
      name      = "FEAST_POSTGRES_PASSWORD"
      valueFrom = { secretKeyRef = { name = "feast-postgresql", key = "password" } }
    }] : [],
    local.redis_on && var.feast_redis_use_password ? [{
      name      = "FEAST_REDIS_PASSWORD"
      valueFrom = { secretKeyRef = { name = "feast-redis", key = "redis-password" } }
    }] : [],
  )

  server = {
    feature_store_yaml_base64 = base64encode(yamlencode(local.feature_store))
    extraEnvs                 = local.env
    metrics                   = { enabled = var.feast_prometheus_enabled }
  }

  # Bitnami's free images moved to bitnamilegacy; the charts must be told to accept them.
  bitnami_global = { security = { allowInsecureImages = true } }

  servers = {
    feast-feature-server = var.feast_online_serving_enabled ? merge(local.server, { feast_mode = "online" }) : null
    feast-registry       = var.feast_core_enabled ? merge(local.server, { feast_mode = "registry" }) : null
    feast-offline        = var.feast_jobservice_enabled ? merge(local.server, { feast_mode = "offline" }) : null
  }

  postgresql = {
    global = local.bitnami_global
    image  = { repository = "bitnamilegacy/postgresql" }
    auth = {
      username = local.pg_user
      password = var.feast_postgresql_password
      database = local.pg_db
    }
  }

  redis = {
    global       = local.bitnami_global
    image        = { repository = "bitnamilegacy/redis" }
    architecture = "standalone"
    auth         = { enabled = var.feast_redis_use_password }
  }
}
