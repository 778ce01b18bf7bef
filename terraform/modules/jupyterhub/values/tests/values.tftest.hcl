# Rendered values of the jupyterhub chart for the settings that matter.

variables {
  jhub_proxy_secret_token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}

run "defaults_use_dummy_authenticator" {
  command = apply

  assert {
    condition     = output.values.jupyterhub.hub.config.JupyterHub.authenticator_class == "dummy"
    error_message = "Without GitHub OAuth the DummyAuthenticator must be used."
  }
  assert {
    condition     = output.values.jupyterhub.hub.config.Authenticator.allow_all
    error_message = "JupyterHub 5 needs an allow rule for the DummyAuthenticator."
  }
  assert {
    condition     = jsonencode(output.values.jupyterhub.singleuser.image.pullSecrets) == jsonencode([])
    error_message = "No pull secrets by default."
  }
  assert {
    condition     = output.values.jupyterhub.singleuser.storage.homeMountPath == "/home/jovyan/persistent"
    error_message = "Storage mount path default is /home/jovyan/persistent."
  }
  assert {
    condition     = output.releases.jupyterhub.version == "4.4.0"
    error_message = "The chart is pinned to 4.4.0."
  }
}

run "github_oauth" {
  command = apply

  variables {
    oauth_github_enable                = true
    oauth_github_client_id             = "client-id"
    oauth_github_client_secret         = "client-secret"
    oauth_github_callback_url          = "https://hub.example.com/hub/oauth_callback"
    oauth_github_allowed_organizations = ["acme"]
    oauth_github_admin_users           = ["alice"]
  }

  assert {
    condition     = output.values.jupyterhub.hub.config.JupyterHub.authenticator_class == "github"
    error_message = "GitHub OAuth must select the github authenticator."
  }
  assert {
    condition     = jsonencode(output.values.jupyterhub.hub.config.GitHubOAuthenticator.allowed_organizations) == jsonencode(["acme"])
    error_message = "Allowed organizations must reach GitHubOAuthenticator."
  }
  assert {
    condition     = jsonencode(output.values.jupyterhub.hub.config.GitHubOAuthenticator.admin_users) == jsonencode(["alice"])
    error_message = "Admin users must reach GitHubOAuthenticator."
  }
  assert {
    condition     = !output.values.jupyterhub.hub.config.GitHubOAuthenticator.allow_all
    error_message = "An organization restriction must not allow every user."
  }
  assert {
    condition     = output.values.jupyterhub.hub.config.GitHubOAuthenticator.oauth_callback_url == "https://hub.example.com/hub/oauth_callback"
    error_message = "The callback URL must reach GitHubOAuthenticator."
  }
}

run "private_registry" {
  command = apply

  variables {
    singleuser_image_pull_secrets = [{ name = "regcred" }]
  }

  assert {
    condition     = jsonencode(output.values.jupyterhub.singleuser.image.pullSecrets) == jsonencode([{ name = "regcred" }])
    error_message = "User server pods must carry the image pull secret."
  }
}

run "oauth_without_client_id_is_refused" {
  command = plan

  variables {
    oauth_github_enable = true
  }

  expect_failures = [output.values]
}

run "short_proxy_token_is_refused" {
  command = plan

  variables {
    jhub_proxy_secret_token = "abc"
  }

  expect_failures = [var.jhub_proxy_secret_token]
}
