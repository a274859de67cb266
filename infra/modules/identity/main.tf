# Identity Platform, declared: the project's configuration (email and password sign-in, tenants allowed, the domains
# the browser app signs in from) and one tenant per customer. Tokens it issues carry `firebase.tenant`, which the
# gateway and the functions read as the tenant (shared/adapters/tokens.py); without a tenant every request is 401.
# Creating the config is what enables Identity Platform on the project (no console step); it needs billing.

resource "google_identity_platform_config" "this" {
  project                    = var.project_id
  authorized_domains         = distinct(concat(["${var.project_id}.firebaseapp.com", "${var.project_id}.web.app"], var.authorized_domains))
  autodelete_anonymous_users = true

  sign_in {
    allow_duplicate_emails = false

    email {
      enabled           = true
      password_required = true
    }
  }

  multi_tenant {
    allow_tenants = true
  }

  # Users of one tenant are created by that tenant's administrators, never by sign-up at the project level.
  client {
    permissions {
      disabled_user_signup   = true
      disabled_user_deletion = true
    }
  }
}

resource "google_identity_platform_tenant" "this" {
  for_each = var.tenants

  project                  = var.project_id
  display_name             = each.value
  allow_password_signup    = true
  enable_email_link_signin = false

  depends_on = [google_identity_platform_config.this] # tenants exist only once multi-tenancy is on
}
