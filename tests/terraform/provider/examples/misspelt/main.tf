terraform {
  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "3.1.1"
    }
  }
}

# chart_version misspelt: the real schema has no such argument.
resource "helm_release" "bad" {
  name          = "bad"
  chart         = "mlflow"
  chart_verison = "1.8.1"
}
