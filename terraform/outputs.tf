output "endpoints" {
  description = "For each enabled tool, how a client reaches it in the cluster: `{ tool = { service, namespace, port, secret_names } }`."
  value = { for tool, endpoint in {
    jupyterhub = module.jupyterhub.endpoint
    prefect    = module.prefect.endpoint
    dask       = module.dask.endpoint
    feast      = module.feast.endpoint
    mlflow     = module.mlflow.endpoint
    seldon     = module.seldon.endpoint
  } : tool => endpoint if endpoint != null }
}

output "releases" {
  description = "Every Helm release installed, by tool: `{ tool = { release = { name, namespace, chart, version, status } } }`."
  value = {
    jupyterhub = module.jupyterhub.releases
    prefect    = module.prefect.releases
    dask       = module.dask.releases
    feast      = module.feast.releases
    mlflow     = module.mlflow.releases
    seldon     = module.seldon.releases
  }
}
