"""The web app, JSON API and command line. Maps domain errors to HTTP; holds no domain rules."""
