"""Server-rendered pages: one module per area, one template per page."""

from ui.pages import admin, auth, bar, browse, curate, reviews

routes = [*admin.routes, *auth.routes, *browse.routes, *reviews.routes, *bar.routes]
routes += curate.routes
