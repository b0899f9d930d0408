"""The kit's vocabulary, shared by every layer: it imports nothing of the other layers.

``config`` (the config as data; it imports nothing of crmlab), ``schema`` (what
each config key accepts, and loading a config), ``catalog`` (the reports,
what they need, their order), ``constraints`` (declared parameter
constraints), ``ranking`` (one rule for ranking and cutting by share),
``availability`` (when the data cannot support a report), ``words`` (figures
in words), ``writing`` (the one writer of files), ``charting`` (what every
chart shares), ``machine`` (the cores a run may use).
"""
