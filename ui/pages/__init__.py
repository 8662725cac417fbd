"""Server-rendered pages: one module per area, one template per page."""

from ui.pages import bar, browse, reviews

routes = [*browse.routes, *reviews.routes, *bar.routes]
