"""The pages, one module per kind of user: signing in, staff, the DSL and head, the trust lead,
the auditor. Each is a FastAPI router; :mod:`services.web.pages.common` holds what they share."""
