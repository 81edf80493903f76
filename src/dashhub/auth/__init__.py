"""Access control: users and roles, the login gate, permissions, audit trail, hardening."""
