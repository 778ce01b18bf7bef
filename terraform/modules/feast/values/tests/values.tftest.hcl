# Rendered values of Feast's servers and their stores.

variables {
  feast_postgresql_password = "s3cret"
}

run "defaults" {
  command = apply

  assert {
    condition     = toset(keys(output.releases)) == toset(["feast-feature-server", "feast-registry", "feast-offline", "feast-postgresql", "feast-redis"])
    error_message = "Defaults install online, registry (core) and offline (job service) servers, PostgreSQL and Redis."
  }
  assert {
    condition     = output.feature_store.online_store.type == "redis" && output.feature_store.registry.registry_type == "sql"
    error_message = "Redis holds online features and PostgreSQL the SQL registry."
  }
  assert {
    condition     = output.values.feast-feature-server.feast_mode == "online" && output.values.feast-registry.feast_mode == "registry" && output.values.feast-offline.feast_mode == "offline"
    error_message = "Each server runs in its own mode."
  }
  assert {
    condition     = output.values.feast-postgresql.auth.password == "s3cret"
    error_message = "feast_postgresql_password must reach PostgreSQL."
  }
  assert {
    condition     = !strcontains(base64decode(output.values.feast-feature-server.feature_store_yaml_base64), "s3cret")
    error_message = "The password must not be written into feature_store.yaml."
  }
}

run "redis_with_password" {
  command = apply

  variables {
    feast_redis_use_password = true
  }

  assert {
    condition     = output.values.feast-redis.auth.enabled
    error_message = "feast_redis_use_password must enable Redis auth."
  }
  assert {
    condition     = contains([for e in output.values.feast-feature-server.extraEnvs : e.name], "FEAST_REDIS_PASSWORD")
    error_message = "The feature server must read the Redis password from its Secret."
  }
}

run "no_redis_no_postgresql" {
  command = apply

  variables {
    feast_redis_enabled      = false
    feast_posgresql_enabled  = false
    feast_core_enabled       = false
    feast_jobservice_enabled = false
  }

  assert {
    condition     = keys(output.releases) == ["feast-feature-server"]
    error_message = "Only the online feature server remains."
  }
  assert {
    condition     = output.feature_store.online_store.type == "sqlite" && output.feature_store.offline_store.type == "file"
    error_message = "Without stores Feast falls back to SQLite and files."
  }
}

run "empty_password_is_refused" {
  command = plan

  variables {
    feast_postgresql_password = ""
  }

  expect_failures = [var.feast_postgresql_password]
}
