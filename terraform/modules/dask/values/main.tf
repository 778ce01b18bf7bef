# Helm values of the dask chart, computed without providers so they can be
# rendered and checked offline.

locals {
  # Scheduler and workers share one image: Dask refuses mismatched versions.
  image = {
    repository  = var.worker_image_repository
    tag         = var.worker_image_tag
    pullPolicy  = var.worker_image_pull_policy
    pullSecrets = var.worker_image_pull_secret
  }

  values = {
    scheduler = {
      image = local.image
    }
    worker = {
      name     = var.worker_name
      replicas = var.worker_replicas
      image    = merge(local.image, { dask_worker = var.worker_image_dask_worker_command })
      env      = var.worker_environment_variables
    }
    # Notebooks come from the JupyterHub module.
    jupyter = {
      enabled = false
    }
  }
}
