"""A test provider serving the real helm and kubernetes provider schemas to Terraform."""
