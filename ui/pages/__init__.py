"""Server-rendered pages: one module per area, one template per page."""

from ui.pages import auth, bar, browse, reviews

routes = [*auth.routes, *browse.routes, *reviews.routes, *bar.routes]
