terraform {
  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "3.1.1"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "2.38.0"
    }
  }
}

# Valid against the schema, refused by the providers' own validators.
resource "helm_release" "bad" {
  name  = "bad"
  chart = "mlflow"
  set   = [{ name = "image.tag", value = "3", type = "number" }]
}

resource "kubernetes_namespace" "bad" {
  metadata {
    name = "MLOps_Tools"
  }
}
