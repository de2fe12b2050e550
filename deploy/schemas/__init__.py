"""JSON Schemas of ccmon's configuration files, for editors (``python -m deploy.schemas``)."""
