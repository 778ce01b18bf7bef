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

output "user_provided" {
  description = "For each enabled tool that needs them, the objects you create before apply, and how: `{ tool = { secrets = [{ name, how }] } }`."
  value = { for tool, needed in {
    jupyterhub = module.jupyterhub.user_provided
    prefect    = module.prefect.user_provided
    dask       = module.dask.user_provided
  } : tool => needed if needed != null }
}
