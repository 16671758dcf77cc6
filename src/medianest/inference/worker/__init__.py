"""The stateless worker: claims jobs over HTTP, runs task handlers, reports results."""
