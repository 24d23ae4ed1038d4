"""The web pages: a fourth process that renders HTML on the server for the people who use the
product (staff, DSLs, heads, trust leads, auditors), calling the three services' HTTP APIs like
any other client and never their stores. See :mod:`services.web.app`."""
