################################################################################
# Values
################################################################################

module "values" {
  source = "./values"

  create        = var.create
  namespace     = var.namespace
  chart_version = var.chart_version

  jhub_proxy_https_enabled                   = var.jhub_proxy_https_enabled
  jhub_proxy_https_hosts                     = var.jhub_proxy_https_hosts
  jhub_proxy_secret_token                    = var.jhub_proxy_secret_token
  jhub_proxy_https_letsencrypt_contact_email = var.jhub_proxy_https_letsencrypt_contact_email

  oauth_github_enable                = var.oauth_github_enable
  oauth_github_client_id             = var.oauth_github_client_id
  oauth_github_client_secret         = var.oauth_github_client_secret
  oauth_github_admin_users           = var.oauth_github_admin_users
  oauth_github_callback_url          = var.oauth_github_callback_url
  oauth_github_allowed_organizations = var.oauth_github_allowed_organizations
  dummy_password                     = var.dummy_password

  singleuser_profile_list       = var.singleuser_profile_list
  singleuser_image_pull_secrets = var.singleuser_image_pull_secrets
  singleuser_image_pull_policy  = var.singleuser_image_pull_policy
  singleuser_memory_guarantee   = var.singleuser_memory_guarantee
  singleuser_storage_capacity   = var.singleuser_storage_capacity
  singleuser_storage_mount_path = var.singleuser_storage_mount_path
}

################################################################################
# Releases
################################################################################

resource "helm_release" "this" {
  for_each = { for name, release in module.values.releases : name => release if var.create }

  name       = each.key
  namespace  = var.namespace
  repository = each.value.repository
  chart      = each.value.chart
  version    = each.value.version
  values     = [yamlencode(module.values.values[each.key])]
  timeout    = 900 # the hub waits for its database volume and the image puller
}
