terraform {
  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "3.1.1"
    }
  }
}

# helm provider 3.x: `kubernetes` is a single nested argument, no longer a block.
provider "helm" {
  kubernetes {
    config_path = "~/.kube/config"
  }
}

resource "helm_release" "ok" {
  name  = "ok"
  chart = "mlflow"
}
