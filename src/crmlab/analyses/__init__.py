"""One package per report: ``analysis`` (the class the notebook fits), ``wording`` (its sentences), ``charts``
(its charts) and the report's own tables. An analysis imports ``core``, ``engine``, ``data`` and ``models``,
never another analysis."""
