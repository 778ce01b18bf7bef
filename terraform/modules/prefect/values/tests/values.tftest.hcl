# Rendered values of the prefect-server and prefect-worker charts.

run "defaults_deploy_server_and_worker" {
  command = apply

  assert {
    condition     = output.values.prefect-worker.worker.selfHostedServerApiConfig.apiUrl == "http://prefect-server.prefect.svc.cluster.local:4200/api"
    error_message = "The worker must talk to the in-cluster server."
  }
  assert {
    condition     = output.values.prefect-worker.worker.config.workPool == "default-agent-pool"
    error_message = "The worker serves the default agent pool."
  }
  assert {
    condition     = output.values.prefect-server.postgresql.enabled && output.values.prefect-server.postgresql.auth.database == "prefect"
    error_message = "The bundled PostgreSQL holds database prefect by default."
  }
  assert {
    condition     = !can(output.values.prefect-server.global.prefect.image.prefectTag)
    error_message = "Without prefect_version_tag the chart's pinned tag applies."
  }
}

run "agent_labels_become_work_queues" {
  command = apply

  variables {
    agent_prefect_labels = ["etl", "ml"]
    prefect_version_tag  = "3.8.3-python3.11"
  }

  assert {
    condition     = jsonencode(output.values.prefect-worker.worker.config.workQueues) == jsonencode(["etl", "ml"])
    error_message = "Agent labels must become the worker's work queues."
  }
  assert {
    condition     = output.values.prefect-worker.worker.image.prefectTag == "3.8.3-python3.11-kubernetes"
    error_message = "The worker image must match the server's Prefect version."
  }
  assert {
    condition     = output.values.prefect-server.global.prefect.image.prefectTag == "3.8.3-python3.11"
    error_message = "prefect_version_tag must reach the server image."
  }
}

run "agent_disabled" {
  command = apply

  variables {
    agent_enabled = false
  }

  assert {
    condition     = !contains(keys(output.releases), "prefect-worker")
    error_message = "agent_enabled = false must not deploy a worker."
  }
}

run "external_postgresql" {
  command = apply

  variables {
    postgresql_use_subchart      = false
    postgresql_external_hostname = "db.example.com"
    postgresql_existing_secret   = "prefect-db"
  }

  assert {
    condition     = !output.values.prefect-server.postgresql.enabled
    error_message = "An external database disables the subchart."
  }
  assert {
    condition     = output.values.prefect-server.externalDatabase.host == "db.example.com"
    error_message = "The external host must reach the chart."
  }
}

run "latest_tag_is_refused" {
  command = plan

  variables {
    prefect_version_tag = "latest"
  }

  expect_failures = [var.prefect_version_tag]
}

run "subchart_with_existing_secret" {
  command = apply

  variables {
    postgresql_existing_secret = "prefect-db"
  }

  assert {
    condition     = output.values.prefect-server.postgresql.auth.existingSecret == "prefect-db"
    error_message = "The subchart must read its password from the existing Secret."
  }
  assert {
    condition     = !output.values.prefect-server.secret.create
    error_message = "The chart must not render a Secret of the user's Secret's name."
  }
  assert {
    condition     = output.user_provided.secrets[0].name == "prefect-db" && strcontains(output.user_provided.secrets[0].how, "connection-string=")
    error_message = "The existing Secret is user-provided, with both keys the chart reads."
  }
  assert {
    condition     = jsonencode(output.endpoint.secret_names) == jsonencode(["prefect-db"])
    error_message = "The endpoint's credentials are in the existing Secret."
  }
}
