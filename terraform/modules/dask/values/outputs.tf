output "releases" {
  description = "Helm releases of this module: `{ name = { chart, version, repository } }`."
  value = {
    dask = {
      chart      = "dask"
      version    = var.chart_version
      repository = "https://helm.dask.org/"
    }
  }
}

output "values" {
  description = "Helm values of each release, as objects: `{ name = values }`."
  value       = { dask = local.values }
}

output "endpoint" {
  description = "How a client reaches the Dask scheduler in the cluster: service, namespace, port, and the secrets holding credentials."
  value = {
    service      = "dask-scheduler"
    namespace    = var.namespace
    port         = 8786
    secret_names = []
  }
}

output "user_provided" {
  description = "Objects the releases use that the user creates in the namespace beforehand (the module does not): `{ secrets = [{ name, how }] }`."
  value = {
    secrets = [for secret in var.worker_image_pull_secret : {
      name = secret.name
      how  = "kubectl create secret docker-registry ${secret.name} --namespace ${var.namespace} --docker-server=<registry> --docker-username=<user> --docker-password=<password>"
    }]
  }
}
