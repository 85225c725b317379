"""Device Bound Session Credentials (DBSC): the registration offer, the
register and refresh endpoints, and the enforcement of the bound cookie.
The rules are ``core.dbsc``; the records ``stores.bindings``."""
