terraform {
  required_version = ">= 1.5"
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

provider "helm" {
  kubernetes = {
    config_path    = "~/.kube/config"
    config_context = "minikube"
  }
}

provider "kubernetes" {
  config_path    = "~/.kube/config"
  config_context = "minikube"
}

resource "kubernetes_namespace" "mlops" {
  metadata {
    name   = "mlops"
    labels = { "app.kubernetes.io/part-of" = "mlops" }
  }
}

resource "kubernetes_secret" "db" {
  metadata {
    name      = "db-credentials"
    namespace = kubernetes_namespace.mlops.metadata[0].name
  }
  data = {
    password = "s3cret"
  }
}

resource "helm_release" "mlflow" {
  name             = "mlflow"
  repository       = "https://community-charts.github.io/helm-charts"
  chart            = "mlflow"
  version          = "1.8.1"
  namespace        = kubernetes_namespace.mlops.metadata[0].name
  create_namespace = false
  values = [yamlencode({
    replicaCount = 1
    backendStore = { existingSecret = kubernetes_secret.db.metadata[0].name }
  })]
  set = [
    { name = "service.port", value = "5000" },
  ]
}

data "kubernetes_secret" "existing" {
  metadata {
    name      = "existing"
    namespace = "default"
  }
}

output "mlflow_namespace" {
  value = helm_release.mlflow.metadata.namespace
}

output "namespace_uid" {
  value = kubernetes_namespace.mlops.metadata[0].uid
}
