################################################################################
# Release
################################################################################

variable "create" {
  description = "Whether to install the Seldon Core operator; `false` creates nothing."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "Namespace to install the Seldon Core operator into (it must exist)."
  type        = string
  default     = "seldon-system"
}

variable "chart_version" {
  description = "Version of the `seldon-core-operator` chart; `1.17.1` is the last Apache-2.0 release (1.18+ is under the Business Source License)."
  type        = string
  default     = "1.17.1"
}

################################################################################
# Operator
################################################################################

variable "istio_enabled" {
  description = "Whether SeldonDeployments are exposed through Istio (an Istio install with its CRDs and gateway must already exist)."
  type        = bool
  default     = false
}

variable "istio_gateway" {
  description = "Istio gateway SeldonDeployments attach to, as `namespace/name`; used when `istio_enabled` is `true`."
  type        = string
  default     = "istio-system/seldon-gateway"
}

variable "usage_metrics_enabled" {
  description = "Whether the operator sends anonymous usage metrics to Seldon."
  type        = bool
  default     = true
}
