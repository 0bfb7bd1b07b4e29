"""Identity: who may sign in and as what — sessions and authentication (`sessions`), users,
roles and departments (administration), API tokens for integrators, and step-up verification
(TOTP, SMS codes through a gateway) after abnormal access."""
