output "releases" {
  description = "Helm releases of this module: `{ name = { chart, version, repository } }`."
  value = {
    mlflow = {
      chart      = "mlflow"
      version    = var.chart_version
      repository = "https://community-charts.github.io/helm-charts"
    }
  }
}

output "values" {
  description = "Helm values of each release, as objects: `{ name = values }`."
  sensitive   = true
  value       = { mlflow = local.values }

  precondition {
    condition     = !var.docker_private_repo || (var.docker_registry_server != "" && var.docker_auth_key != "")
    error_message = "docker_registry_server and docker_auth_key are required when docker_private_repo is true."
  }
}

output "pull_secret_name" {
  description = "Name of the image pull Secret the module creates, or `null` without a private registry."
  value       = var.docker_private_repo ? local.pull_secret_name : null
}

output "secrets" {
  description = "Kubernetes Secrets the module creates beside its releases: `{ name = { type, data } }`; the image pull Secret when `docker_private_repo` is `true`."
  sensitive   = true
  value = var.docker_private_repo ? {
    (local.pull_secret_name) = {
      type = "kubernetes.io/dockerconfigjson"
      data = {
        ".dockerconfigjson" = jsonencode({
          auths = { (var.docker_registry_server) = { auth = var.docker_auth_key } }
        })
      }
    }
  } : {}
}

output "endpoint" {
  description = "How a client reaches the MLflow tracking server in the cluster: service, namespace, port, and the secrets holding credentials."
  value = {
    service      = "mlflow"
    namespace    = var.namespace
    port         = 80
    secret_names = compact([var.db_host == "" ? "mlflow-postgresql" : "", var.docker_private_repo ? local.pull_secret_name : ""])
  }
}
