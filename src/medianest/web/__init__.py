"""The web app server: the built browser app and the three APIs behind one origin."""
