output "releases" {
  description = "Helm releases of this module: `{ name = { chart, version, repository } }`."
  value = {
    jupyterhub = {
      chart      = "jupyterhub"
      version    = var.chart_version
      repository = "https://hub.jupyter.org/helm-chart/"
    }
  }
}

output "values" {
  description = "Helm values of each release, as objects: `{ name = values }`."
  sensitive   = true
  value       = { jupyterhub = local.values }

  precondition {
    condition     = !var.oauth_github_enable || (var.oauth_github_client_id != "" && var.oauth_github_client_secret != "")
    error_message = "oauth_github_client_id and oauth_github_client_secret are required when oauth_github_enable is true."
  }
}

output "endpoint" {
  description = "How a client reaches JupyterHub in the cluster: service, namespace, port, and the secrets holding credentials."
  value = {
    service      = "proxy-public"
    namespace    = var.namespace
    port         = 80
    secret_names = ["hub"]
  }
}

output "user_provided" {
  description = "Objects the releases use that the user creates in the namespace beforehand (the module does not): `{ secrets = [{ name, how }] }`."
  value = {
    secrets = [for secret in local.pull_secrets : {
      name = secret.name
      how  = "kubectl create secret docker-registry ${secret.name} --namespace ${var.namespace} --docker-server=<registry> --docker-username=<user> --docker-password=<password>"
    }]
  }
}
