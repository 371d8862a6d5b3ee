"""Catalogue data contract: administrative units and procedures, loaded from versioned JSON.

Intake and routing each load the same files (``data/catalogue``, see its README) into
their own store. A *configuration* names one hierarchy file, ``units-<name>.json``
("three-level": province → district → commune; "two-level": province → commune since
2025-07-01); ``procedures.json`` is shared and each procedure lists the configurations
it ``applies_to``. Services choose the configuration from ``LT_CATALOGUE_CONFIGURATION``.

Levels and unit kinds are data: nothing here knows how many levels there are. Route
*resolution* belongs to routing; ``configuration.Catalogue`` offers only pure look-ups it
can build on (``jurisdiction``, ``find_in_subtree``, ``unit_in_force``). Selector
vocabulary:

* ``{"relative": "receiving_unit"}``: the unit that received the dossier;
* ``{"relative": "returning_desk"}``: the desk that hands the result back (the receiving one);
* ``{"relative": "ancestor", "level": L, "kind": K, "tags": [...],
  "fallback_level": F}``: take the receiving unit's jurisdiction at level L (the
  outermost unit at level L among the unit and its ancestors, e.g. the district
  people's committee), then the unit at level L, of kind K, carrying all the tags, in
  its subtree (the jurisdiction itself included): ``find_in_subtree(jurisdiction.code,
  K, tags, on, level=L)``. When the configuration has no level L (it is retired, as
  "district" in two-level), F replaces L throughout; F is then mandatory.

``model``: units, procedures and their parts as the files describe them; ``configuration``:
one configuration's catalogue, checked for consistency, and its look-ups; ``loading``:
reading the files.
"""
