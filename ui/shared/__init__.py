"""What the JSON API and the pages share: app state, bodies, parameters, errors, presenters."""
