terraform {
  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "3.1.1"
    }
  }
}

# helm provider 3.x: set is a list-of-objects argument, no longer a block.
resource "helm_release" "bad" {
  name  = "bad"
  chart = "mlflow"
  set {
    name  = "replicaCount"
    value = "2"
  }
}
