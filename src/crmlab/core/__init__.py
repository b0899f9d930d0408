"""The kit's vocabulary, shared by every layer: it imports nothing of crmlab.

``config`` (the config schema), ``catalog`` (the reports, what they need,
their order), ``constraints`` (declared parameter constraints), ``ranking``
(one rule for ranking and cutting by share), ``availability`` (when the data
cannot support a report), ``words`` (figures in words), ``writing`` (the one
writer of files), ``charting`` (what every chart shares).
"""
