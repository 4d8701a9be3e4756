"""The page routers, included by `api.web.install` in this order."""
