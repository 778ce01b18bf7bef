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
