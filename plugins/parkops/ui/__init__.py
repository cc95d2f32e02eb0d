"""Web pages for the data engineers, served by the Airflow api-server through the ``parkops`` UI plugin.

:func:`parkops.ui.app.create_app` builds the FastAPI app; ``plugins/parkops_ui.py`` mounts it under
``/parkops`` and adds the menu entries of the Airflow UI.
"""
