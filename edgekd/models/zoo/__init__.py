"""The model families: every module here registers its builders with
``edgekd.models.entries.register_model``. ``edgekd.models.registry`` imports each module of
this package the first time a model is asked for, so a new family is one new file here
(no list to edit, and no module imports the registry that imports it).
"""
