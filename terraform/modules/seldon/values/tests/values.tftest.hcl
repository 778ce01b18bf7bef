# Rendered values of the seldon-core-operator chart.

run "defaults" {
  command = apply

  assert {
    condition     = output.releases.seldon-core-operator.version == "1.17.1"
    error_message = "Seldon defaults to 1.17.1, the last Apache-2.0 release."
  }
  assert {
    condition     = !output.values.seldon-core-operator.istio.enabled
    error_message = "Istio is off by default: the chart does not install it."
  }
  assert {
    condition     = output.values.seldon-core-operator.usageMetrics.enabled
    error_message = "usage_metrics_enabled defaults to true, as documented."
  }
}

run "istio" {
  command = apply

  variables {
    istio_enabled         = true
    usage_metrics_enabled = false
  }

  assert {
    condition     = output.values.seldon-core-operator.istio.enabled && output.values.seldon-core-operator.istio.gateway == "istio-system/seldon-gateway"
    error_message = "istio_enabled must reach the operator with its gateway."
  }
  assert {
    condition     = !output.values.seldon-core-operator.usageMetrics.enabled
    error_message = "usage_metrics_enabled must reach the operator."
  }
}
