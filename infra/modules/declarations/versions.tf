terraform {
  # No providers: this module only reads the declarations, so tests evaluate it offline.
  required_version = ">= 1.0.3, < 2.0.0"
}
