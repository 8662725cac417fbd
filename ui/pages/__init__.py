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
    lesson_edit,
    merge,
    people,
    reviews,
    taxonomy,
)
from ui.pages.communities import routes as community_routes
from ui.pages.handovers import routes as handover_routes
from ui.pages.metrics import routes as metrics_routes
from ui.pages.themes import routes as themes_routes

routes = [*admin.routes, *auth.routes, *browse.routes, *reviews.routes, *bar.routes]
routes += curate.routes
routes += [*actions.routes, *digest.routes, *feeds.routes, *taxonomy.routes]
routes += merge.routes
routes += lesson_edit.routes
routes += themes_routes
routes += metrics_routes
routes += handover_routes
routes += community_routes
routes += [*people.routes, *assists.routes]
