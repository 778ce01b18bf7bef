# Helm values of the mlflow chart, computed without providers so they can be
# rendered and checked offline.

locals {
  external_db = var.db_host != ""

  # The module creates this dockerconfigjson Secret when docker_private_repo is true.
  pull_secret_name = "mlflow-registry"
  pull_secrets     = var.docker_private_repo ? [{ name = local.pull_secret_name }] : []

  tag = { for k, v in { tag = var.image_tag } : k => v if v != "" }

  # The migration job runs the server image: a custom one must be used there too.
  # Set only then: older chart versions (e.g. 1.6.0) have no `initImages`.
  custom_image = var.image_repository != "burakince/mlflow" || var.image_tag != ""
  init_images = { for k, v in {
    initImages = {
      mlflowDbMigration = merge({
        repository = var.image_repository
        pullPolicy = var.image_pull_policy
      }, local.tag)
    }
  } : k => v if local.custom_image }

  values = merge(local.init_images, {
    image = merge({
      repository = var.image_repository
      pullPolicy = var.image_pull_policy
    }, local.tag)
    imagePullSecrets = local.pull_secrets
    service = {
      type = var.service_type
    }
    backendStore = {
      databaseMigration       = true
      databaseConnectionCheck = local.external_db
      postgres = {
        enabled  = local.external_db
        host     = var.db_host
        port     = var.db_port
        database = var.database_name
        user     = var.db_username
        password = local.external_db ? var.db_password : ""
      }
    }
    # Without an external host the chart's bundled PostgreSQL is the backend store.
    postgresql = {
      enabled = !local.external_db
      auth = {
        username = var.db_username
        password = local.external_db ? "" : var.db_password
        database = var.database_name
      }
    }
    artifactRoot = {
      defaultArtifactRoot = var.default_artifact_root
    }
  })
}
