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
  description = "How a client reaches the Prefect API in the cluster: service, namespace, port, and the secrets holding credentials."
  value       = var.create ? module.values.endpoint : null
}

output "user_provided" {
  description = "Objects the releases use that you create in the namespace beforehand, and how: `{ secrets = [{ name, how }] }`; `null` when not created."
  value       = var.create ? module.values.user_provided : null
}
