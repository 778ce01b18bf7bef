output "releases" {
  description = "Name, namespace, chart, version and status of each Helm release; empty when not created."
  value = {
    for name, release in helm_release.this : name => {
      name      = release.name
      namespace = release.namespace
      chart     = release.chart
      version   = release.version
      status    = release.status
    }
  }
}

output "endpoint" {
  description = "How a client reaches the MLflow tracking server in the cluster: service, namespace, port, and the secrets holding credentials."
  value = var.create ? {
    service      = "mlflow"
    namespace    = var.namespace
    port         = 80
    secret_names = compact([var.db_host == "" ? "mlflow-postgresql" : "", var.docker_private_repo ? module.values.pull_secret_name : ""])
  } : null
}
