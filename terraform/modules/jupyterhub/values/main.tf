# Helm values of the jupyterhub chart, computed without providers so they can be
# rendered and checked offline (see harness/static/render.py).

locals {
  pull_secrets = coalesce(var.singleuser_image_pull_secrets, [])

  github_config = {
    JupyterHub = {
      admin_access        = true
      authenticator_class = "github"
    }
    GitHubOAuthenticator = {
      client_id             = var.oauth_github_client_id
      client_secret         = var.oauth_github_client_secret
      oauth_callback_url    = var.oauth_github_callback_url
      allowed_organizations = var.oauth_github_allowed_organizations
      admin_users           = var.oauth_github_admin_users
      # No organization restriction means any GitHub user may log in.
      allow_all = length(var.oauth_github_allowed_organizations) == 0
      scope     = length(var.oauth_github_allowed_organizations) > 0 ? ["read:org"] : []
    }
  }

  dummy_config = {
    JupyterHub = {
      admin_access        = true
      authenticator_class = "dummy"
    }
    DummyAuthenticator = {
      password = var.dummy_password
    }
    # JupyterHub 5 refuses every user unless an allow rule is set.
    Authenticator = {
      allow_all   = true
      admin_users = var.oauth_github_admin_users
    }
  }

  https = {
    enabled = var.jhub_proxy_https_enabled
    hosts   = var.jhub_proxy_https_hosts
    letsencrypt = {
      contactEmail = var.jhub_proxy_https_letsencrypt_contact_email
    }
  }

  values = {
    hub = {
      # Indexing a tuple picks one of two differently shaped objects.
      config = [local.dummy_config, local.github_config][var.oauth_github_enable ? 1 : 0]
    }
    proxy = {
      secretToken = var.jhub_proxy_secret_token
      https       = local.https
    }
    singleuser = {
      image = {
        pullPolicy  = var.singleuser_image_pull_policy
        pullSecrets = local.pull_secrets
      }
      memory = {
        guarantee = var.singleuser_memory_guarantee
      }
      storage = {
        capacity      = var.singleuser_storage_capacity
        homeMountPath = var.singleuser_storage_mount_path
      }
      profileList = var.singleuser_profile_list
    }
    # The image puller pods pull the profile images too.
    prePuller = {
      hook = { pullOnlyOnChanges = true }
    }
  }
}
