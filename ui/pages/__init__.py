"""Server-rendered pages: one module per area, one template per page."""

from ui.pages import (
    actions,
    admin,
    assists,
    auth,
    bar,
    browse,
    curate,
    digest,
    feeds,
    merge,
    people,
    reviews,
    taxonomy,
)
from ui.pages.metrics import routes as metrics_routes
from ui.pages.themes import routes as themes_routes

routes = [*admin.routes, *auth.routes, *browse.routes, *reviews.routes, *bar.routes]
routes += curate.routes
routes += [*actions.routes, *digest.routes, *feeds.routes, *taxonomy.routes]
routes += merge.routes
routes += themes_routes
routes += metrics_routes
routes += [*people.routes, *assists.routes]
