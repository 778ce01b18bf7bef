terraform {
  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "3.1.1"
    }
  }
}

# atomic is a bool in the real schema.
resource "helm_release" "bad" {
  name   = "bad"
  chart  = "mlflow"
  atomic = "maybe"
}
