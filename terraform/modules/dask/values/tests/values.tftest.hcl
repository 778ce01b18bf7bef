# Rendered values of the dask chart.

run "defaults" {
  command = apply

  assert {
    condition     = output.values.dask.worker.replicas == 3
    error_message = "Three workers by default."
  }
  assert {
    condition     = output.values.dask.scheduler.image.tag == output.values.dask.worker.image.tag
    error_message = "Scheduler and workers must run the same image."
  }
  assert {
    condition     = !output.values.dask.jupyter.enabled
    error_message = "The chart's bundled Jupyter stays off."
  }
}

run "replicas_and_environment_reach_workers" {
  command = apply

  variables {
    worker_replicas              = 5
    worker_environment_variables = [{ name = "EXTRA_PIP_PACKAGES", value = "s3fs" }]
  }

  assert {
    condition     = output.values.dask.worker.replicas == 5
    error_message = "worker_replicas must reach the workers."
  }
  assert {
    condition     = output.values.dask.worker.env[0].name == "EXTRA_PIP_PACKAGES" && output.values.dask.worker.env[0].value == "s3fs"
    error_message = "Environment variables must reach the workers."
  }
}

run "private_registry" {
  command = apply

  variables {
    worker_image_repository  = "registry.example.com/ml/dask"
    worker_image_pull_secret = [{ name = "regcred" }]
  }

  assert {
    condition     = output.values.dask.worker.image.pullSecrets[0].name == "regcred" && output.values.dask.scheduler.image.pullSecrets[0].name == "regcred"
    error_message = "Every pod pulling from the private registry needs the pull secret."
  }
}

run "empty_env_entry_is_refused" {
  command = plan

  variables {
    worker_environment_variables = [{}]
  }

  expect_failures = [var.worker_environment_variables]
}
