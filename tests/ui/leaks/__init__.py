"""The leak proof: no route reveals a lesson its viewer may not see (DESIGN.md, Sensitivity).

    GET routes, in GET_ROUTES:    "/feeds/lessons.atom": {},
                                  "/curation/duplicates/{id:int}": {"id": "lesson"},
        (path as in app.routes; each path parameter mapped to what it names, a key of FILLS)
    other routes, in OTHER_ROUTES: "POST /curation/merge": "test_that_checks_it",
        (or NO_LESSONS when the route answers nothing about lessons)

Every GET route in the table is then requested as an anonymous visitor, as contributor
`casey` signed in, and as `casey` with a bearer token and no cookies, with every record of each
parameter's kind, and with and without search and filter parameters. A bank is seeded with
restricted lessons in a project `casey` is not a member of, an internal lesson, a public lesson
not yet validated and a soft-deleted one, each carrying a marker word found nowhere else and
written to be the best match for the queries used. No answer may hold a hidden lesson's marker,
title, id or open action, nor count it.

The secret project also holds what leaked in issue 11, so each kind would fail here: a review
story and an action on no lesson, a restricted lesson merged into a public one (with its tag
and open action), a review whose restricted lesson was purged, people named only on that
work, and curator kim's BAR with a brief of its own. None of their words, names, the secret
project's name or tag may show to anyone outside the project, nor be counted (the home
page's project count included).

The route table is in routes.py, the seeded bank in bank.py, what counts as a leak in
detect.py; each test module checks one kind of leak.
"""
