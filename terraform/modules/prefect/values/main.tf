# Helm values of the prefect-server and prefect-worker charts, computed without
# providers so they can be rendered and checked offline.

locals {
  # Only set a tag when one is given, so the chart's pinned tag applies otherwise.
  server_tag = { for k, v in { prefectTag = var.prefect_version_tag } : k => v if v != "" }
  worker_tag = {
    for k, v in {
      prefectTag = var.agent_image_tag != "" ? var.agent_image_tag : (
        var.prefect_version_tag != "" ? "${var.prefect_version_tag}-kubernetes" : ""
      )
    } : k => v if v != ""
  }

  subchart_postgresql = {
    enabled = true
    auth = merge(
      {
        database = var.postgresql_database
        username = var.postgresql_username
      },
      { for k, v in { existingSecret = var.postgresql_existing_secret } : k => v if v != "" },
    )
    primary = {
      initdb = { user = var.postgresql_init_user }
      persistence = {
        enabled = var.postgresql_persistence_enabled
        size    = var.postgresql_persistence_size
      }
      service = { ports = { postgresql = var.postgresql_service_port } }
    }
  }

  server_values = merge(
    {
      global = {
        prefect = {
          image = merge({ repository = "prefecthq/prefect" }, local.server_tag)
        }
      }
    },
    # Indexing a tuple picks one of two differently shaped objects.
    [merge({
      postgresql = local.subchart_postgresql
      },
      # With an existing Secret the chart reads the connection string from it too: it must
      # not render a Secret of the same name (helm would own, and clash with, the user's).
      var.postgresql_existing_secret != "" ? { secret = { create = false } } : {},
      ), {
      postgresql = { enabled = false }
      externalDatabase = {
        existingSecret    = var.postgresql_existing_secret
        passwordSecretKey = "password"
        driver            = "postgresql+asyncpg"
        username          = var.postgresql_username
        host              = var.postgresql_external_hostname
        port              = tostring(var.postgresql_service_port)
        name              = var.postgresql_database
      }
    }][var.postgresql_use_subchart ? 0 : 1],
  )

  api_url = "http://prefect-server.${var.namespace}.svc.cluster.local:4200/api"

  worker_values = {
    worker = {
      apiConfig = "selfHostedServer"
      selfHostedServerApiConfig = {
        apiUrl = local.api_url
      }
      config = {
        type       = "kubernetes"
        workPool   = var.agent_work_pool_name
        workQueues = var.agent_prefect_labels
      }
      image = merge(
        {
          repository = var.agent_image_name
          pullPolicy = var.agent_image_pull_policy
        },
        local.worker_tag,
      )
    }
  }
}
