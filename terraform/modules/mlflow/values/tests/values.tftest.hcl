# Rendered values of the mlflow chart.

variables {
  db_password = "s3cret"
}

run "defaults_use_bundled_postgresql" {
  command = apply

  assert {
    condition     = output.values.mlflow.postgresql.enabled && !output.values.mlflow.backendStore.postgres.enabled
    error_message = "Without db_host the bundled PostgreSQL is the backend store."
  }
  assert {
    condition     = output.values.mlflow.artifactRoot.defaultArtifactRoot == "/tmp"
    error_message = "default_artifact_root defaults to /tmp."
  }
  assert {
    condition     = output.values.mlflow.service.type == "NodePort"
    error_message = "The service is a NodePort by default."
  }
  assert {
    condition     = length(output.values.mlflow.imagePullSecrets) == 0 && length(output.secrets) == 0
    error_message = "No pull secret without a private registry."
  }
}

run "external_postgresql" {
  command = apply

  variables {
    db_host               = "db.example.com"
    default_artifact_root = "s3://bucket/mlflow"
  }

  assert {
    condition     = output.values.mlflow.backendStore.postgres.enabled && output.values.mlflow.backendStore.postgres.host == "db.example.com"
    error_message = "db_host must reach the backend store."
  }
  assert {
    condition     = !output.values.mlflow.postgresql.enabled
    error_message = "An external database disables the bundled one."
  }
  assert {
    condition     = output.values.mlflow.artifactRoot.defaultArtifactRoot == "s3://bucket/mlflow"
    error_message = "default_artifact_root must reach the chart."
  }
}

run "private_registry" {
  command = apply

  variables {
    docker_private_repo    = true
    docker_registry_server = "registry.example.com"
    docker_auth_key        = "dXNlcjpwYXNz"
    image_repository       = "registry.example.com/ml/mlflow"
  }

  assert {
    condition     = output.values.mlflow.imagePullSecrets[0].name == output.pull_secret_name
    error_message = "The MLflow pod must carry the image pull secret."
  }
  assert {
    condition     = output.values.mlflow.initImages.mlflowDbMigration.repository == "registry.example.com/ml/mlflow"
    error_message = "The migration job pulls the same private image."
  }
}

run "private_registry_needs_credentials" {
  command = plan

  variables {
    docker_private_repo = true
  }

  expect_failures = [output.values]
}

run "empty_password_is_refused" {
  command = plan

  variables {
    db_password = ""
  }

  expect_failures = [var.db_password]
}

run "private_registry_secret" {
  command = apply

  variables {
    docker_private_repo    = true
    docker_registry_server = "registry.example.com:5000"
    docker_auth_key        = "dXNlcjpwYXNz"
  }

  assert {
    condition     = jsondecode(output.secrets["mlflow-registry"].data[".dockerconfigjson"]).auths["registry.example.com:5000"].auth == "dXNlcjpwYXNz"
    error_message = "The pull Secret holds the auth key under the registry server."
  }
  assert {
    condition     = output.secrets["mlflow-registry"].type == "kubernetes.io/dockerconfigjson"
    error_message = "The pull Secret is a dockerconfigjson Secret."
  }
}
