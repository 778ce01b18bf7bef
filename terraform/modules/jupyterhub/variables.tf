################################################################################
# Release
################################################################################

variable "create" {
  description = "Whether to install JupyterHub; `false` creates nothing."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "Namespace to install JupyterHub into (it must exist)."
  type        = string
  default     = "jhub"
}

variable "chart_version" {
  description = "Version of the `jupyterhub` chart (zero-to-jupyterhub) to install."
  type        = string
  default     = "4.4.0"
}

################################################################################
# Proxy
################################################################################

variable "jhub_proxy_https_enabled" {
  description = "Whether HTTPS is enabled on the proxy."
  type        = bool
  default     = false
}

variable "jhub_proxy_https_hosts" {
  description = "Your domains, required for automatic HTTPS."
  type        = list(string)
  default     = []
}

variable "jhub_proxy_secret_token" {
  description = "A 32-byte random string, as 64 hex characters, securing hub to proxy communication (`openssl rand -hex 32`)."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[0-9a-fA-F]{64}$", var.jhub_proxy_secret_token))
    error_message = "jhub_proxy_secret_token must be 64 hexadecimal characters (32 bytes); generate one with `openssl rand -hex 32`."
  }
}

variable "jhub_proxy_https_letsencrypt_contact_email" {
  description = "Contact email for the HTTPS certificates Let's Encrypt provisions automatically."
  type        = string
  default     = ""
}

################################################################################
# Authentication
################################################################################

variable "oauth_github_enable" {
  description = "Whether users log in with GitHub OAuth (`GitHubOAuthenticator`); `false` uses the `DummyAuthenticator`."
  type        = bool
  default     = false
}

variable "oauth_github_client_id" {
  description = "GitHub OAuth app client id; required when `oauth_github_enable` is `true`."
  type        = string
  default     = ""
}

variable "oauth_github_client_secret" {
  description = "GitHub OAuth app client secret; required when `oauth_github_enable` is `true`."
  type        = string
  default     = ""
  sensitive   = true
}

variable "oauth_github_admin_users" {
  description = "GitHub user names that are JupyterHub administrators."
  type        = list(string)
  default     = []
}

variable "oauth_github_callback_url" {
  description = "URL GitHub redirects to after authorisation, e.g. `https://hub.example.com/hub/oauth_callback`."
  type        = string
  default     = ""
}

variable "oauth_github_allowed_organizations" {
  description = "GitHub organizations whose members may log in; empty allows every GitHub user."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for org in var.oauth_github_allowed_organizations : trimspace(org) != ""])
    error_message = "oauth_github_allowed_organizations must not contain empty names; use [] to allow every GitHub user."
  }
}

variable "dummy_password" {
  description = "Shared password of the `DummyAuthenticator`, used when `oauth_github_enable` is `false`."
  type        = string
  default     = "a-shared-secret-password"
  sensitive   = true
}

################################################################################
# Single-user servers
################################################################################

variable "singleuser_profile_list" {
  description = "Images a user can choose from when spawning a server (KubeSpawner `profile_list` entries)."
  type        = any
  default     = []
}

variable "singleuser_image_pull_secrets" {
  description = "Image pull secrets (`[{ name = \"regcred\" }]`) for user server images in a private registry."
  type        = list(object({ name = string }))
  default     = null
}

variable "singleuser_image_pull_policy" {
  description = "Pull policy of user server images: `Always`, `IfNotPresent` or `Never`."
  type        = string
  default     = "Always"

  validation {
    condition     = contains(["Always", "IfNotPresent", "Never"], var.singleuser_image_pull_policy)
    error_message = "singleuser_image_pull_policy must be one of Always, IfNotPresent, Never."
  }
}

variable "singleuser_memory_guarantee" {
  description = "Memory guaranteed to each user server, e.g. `1G`."
  type        = string
  default     = "1G"
}

variable "singleuser_storage_capacity" {
  description = "Size of each user's persistent volume, e.g. `1G`."
  type        = string
  default     = "1G"
}

variable "singleuser_storage_mount_path" {
  description = "Where the user's persistent volume is mounted in the server."
  type        = string
  default     = "/home/jovyan/persistent"
}
